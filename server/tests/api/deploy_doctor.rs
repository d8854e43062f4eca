//! `sori doctor`, the real binary, against the shipped proxy configurations and the broken
//! set-ups of the deployment issue (`support::proxy` builds each from the shipped files,
//! with only its marked lines changed): the shipped ones pass with no FAIL, and each broken
//! one gives the FAIL that names its fix, with the exit status to match.

use crate::doctor::{Run, doctor};
use crate::support::proxy::{
    Deployment, nginx_with_http_public_origin, nginx_with_separate_databases,
    nginx_with_short_read_timeout, nginx_with_static_page_at_ws, nginx_with_wrong_public_origin,
    nginx_without_trusted_proxies, nginx_without_upgrade_headers, shipped_caddy, shipped_nginx,
};

async fn examine(deployment: &Deployment, extra: &[&str]) -> Run {
    let ca = deployment.ca_file.display().to_string();
    let mut args = vec!["--ca", ca.as_str()];
    args.extend_from_slice(extra);
    doctor(&deployment.url, &args).await
}

fn assert_no_fail(run: &Run) {
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert!(
        !run.stdout.lines().any(|line| line.starts_with("FAIL")),
        "{}",
        run.stdout
    );
}

/// `check` failed, its line names `cause` and its fix names `fix`, and the run exits 1.
fn assert_fails(run: &Run, check: &str, cause: &str, fix: &str) {
    let line = run.line(check);
    assert!(line.starts_with("FAIL"), "{line}\n{}", run.stdout);
    assert!(line.contains(cause), "{line}");
    assert!(line.contains("fix: ") && line.contains(fix), "{line}");
    assert_eq!(run.code, Some(1), "{}", run.stdout);
}

#[tokio::test]
async fn the_shipped_nginx_in_front_of_two_instances_passes_with_delivery_between_them() {
    let deployment = shipped_nginx().await;
    let run = examine(&deployment, &[]).await;
    assert_no_fail(&run);
    assert!(run.line("upgrade").starts_with("ok"), "{}", run.stdout);
    assert!(run.line("wss").starts_with("ok"), "{}", run.stdout);
    let instances = run.line("instances");
    assert!(
        instances.starts_with("ok") && instances.contains("2 instances answered"),
        "{instances}"
    );
}

#[tokio::test]
async fn the_shipped_caddyfile_passes() {
    let deployment = shipped_caddy().await;
    assert_no_fail(&examine(&deployment, &[]).await);
}

#[tokio::test]
async fn an_http_public_origin_behind_a_trusted_nginx_saying_https_passes() {
    let deployment = nginx_with_http_public_origin().await;
    let run = examine(&deployment, &[]).await;
    assert_no_fail(&run);
    let line = run.line("wss");
    assert!(line.starts_with("ok"), "{line}");
}

#[tokio::test]
async fn nginx_without_the_upgrade_headers_fails_naming_them() {
    let deployment = nginx_without_upgrade_headers().await;
    let run = examine(&deployment, &[]).await;
    assert_fails(
        &run,
        "upgrade",
        "Upgrade/Connection",
        "proxy_set_header Upgrade",
    );
}

#[tokio::test]
async fn a_read_timeout_below_the_heartbeat_fails_naming_proxy_read_timeout() {
    let deployment = nginx_with_short_read_timeout().await;
    let run = examine(&deployment, &["--idle-secs", "8"]).await;
    assert_fails(
        &run,
        "idle",
        "even with the heartbeat",
        "proxy_read_timeout",
    );
}

#[tokio::test]
async fn a_public_origin_that_is_not_the_url_fails_naming_the_setting() {
    let deployment = nginx_with_wrong_public_origin().await;
    let run = examine(&deployment, &[]).await;
    assert_fails(&run, "origin", &deployment.url, "SORI_PUBLIC_ORIGIN");
}

#[tokio::test]
async fn two_instances_on_separate_databases_fail_naming_database_url() {
    let deployment = nginx_with_separate_databases().await;
    let run = examine(&deployment, &[]).await;
    assert_fails(&run, "instances", "different databases", "DATABASE_URL");
}

#[tokio::test]
async fn tls_at_nginx_without_the_proxy_trusted_fails_naming_sori_trusted_proxies() {
    let deployment = nginx_without_trusted_proxies().await;
    let run = examine(&deployment, &[]).await;
    assert_fails(&run, "wss", "cookies", "SORI_TRUSTED_PROXIES=127.0.0.1");
}

#[tokio::test]
async fn ws_routed_to_a_static_page_fails_saying_it_is_not_sori() {
    let deployment = nginx_with_static_page_at_ws().await;
    let run = examine(&deployment, &[]).await;
    assert_fails(&run, "upgrade", "not routed", "location /ws");
}
