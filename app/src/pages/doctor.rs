use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::doctor::run_checks;
use crate::doctor::verdicts::{Finding, Status};

/// How long the idle checks wait unless the address says `?idle=SECONDS`: past the 60 s
/// idle limit of the most common proxies and load balancers.
const IDLE_SECS: u64 = 75;

/// `/doctor`: the connection checks a browser can run, from the person's own network, with
/// each result and its fix in a list. It works signed out and changes nothing.
#[component]
pub fn DoctorPage() -> impl IntoView {
    let query = use_query_map();
    let idle_secs = move || {
        query
            .read()
            .get("idle")
            .and_then(|secs| secs.parse::<u64>().ok())
            .filter(|secs| (1..=180).contains(secs))
            .unwrap_or(IDLE_SECS)
    };
    let findings = RwSignal::new(Vec::<Finding>::new());
    let running = RwSignal::new(false);
    let run = move |_| {
        if running.get_untracked() {
            return;
        }
        running.set(true);
        findings.set(Vec::new());
        let secs = idle_secs();
        leptos::task::spawn_local(async move {
            run_checks(secs, move |finding| {
                findings.update(|all| all.push(finding))
            })
            .await;
            running.set(false);
        });
    };
    let summary = move || {
        let all = findings.get();
        if running.get() {
            return format!("Running checks… ({} done)", all.len());
        }
        let failed = all.iter().filter(|f| f.status == Status::Fail).count();
        let warned = all.iter().filter(|f| f.status == Status::Warn).count();
        match (all.len(), failed, warned) {
            (0, _, _) => String::new(),
            (_, 0, 0) => "Every check passed.".into(),
            (_, failed, warned) => format!("{failed} failed, {warned} with a warning."),
        }
    };

    view! {
        <Title text="Connection doctor" />
        <section class="panel doctor">
            <h1>"Connection doctor"</h1>
            <p>
                "Checks the way from this browser to Sori: the WebSocket upgrade, encryption, "
                "the round trip, several instances, and whether idle connections survive ("
                {move || idle_secs()} " s). Nothing is changed, and no account is needed. "
                "For the checks only a shell can run (DNS, certificates), run "
                <code>"sori doctor URL"</code> "."
            </p>
            <button type="button" on:click=run disabled=move || running.get()>
                "Run checks"
            </button>
            <p role="status" aria-label="Doctor status">{summary}</p>
            <ol class="doctor-results" aria-label="Results">
                <For
                    each=move || findings.get().into_iter().enumerate()
                    key=|(index, _)| *index
                    children=|(_, finding)| {
                        let status = finding.status;
                        view! {
                            <li class=format!("doctor-{}", status.word().to_lowercase())>
                                <strong class="doctor-status">{status.word()}</strong>
                                " " <span class="doctor-check">{finding.check}</span>
                                ": " <span class="doctor-detail">{finding.detail}</span>
                                {finding.fix.map(|fix| view! { <p class="doctor-fix">"Fix: " {fix}</p> })}
                            </li>
                        }
                    }
                />
            </ol>
        </section>
    }
}
