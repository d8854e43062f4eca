//! The browser half of the doctor: opens probe sockets with gloo-net, times them, and hands
//! what it saw to [`super::verdicts`]. Every wait has a deadline, so a hop that swallows a
//! socket yields a `FAIL`, never a page that spins for ever.

use super::verdicts::Finding;

/// Runs every check in order and reports each finding as soon as it is known; `idle_secs`
/// is how long the idle probes wait (75 s by default, past the common 60 s limits).
#[cfg(not(feature = "hydrate"))]
pub async fn run_checks(_idle_secs: u64, _report: impl Fn(Finding)) {}

#[cfg(feature = "hydrate")]
pub use live::run_checks;

#[cfg(feature = "hydrate")]
mod live {
    use std::time::Duration;

    use futures_util::future::{Either, select};
    use futures_util::{SinkExt, StreamExt};
    use gloo_net::websocket::Message;
    use gloo_net::websocket::futures::WebSocket;
    use gloo_timers::future::sleep;
    use leptos::prelude::window;

    use super::Finding;
    use crate::doctor::verdicts::{self, Greeting, Idle};
    use crate::protocol::probe::{ProbeClientFrame, ProbeRefusal, ProbeServerFrame, ProbeToken};

    /// How long a probe may take to open and say hello, or to answer one request.
    const ANSWER: Duration = Duration::from_secs(5);
    /// Probes opened to find a second instance (each new socket may land on another). A run
    /// opens this many plus three, within Sori's default burst of 12 per address.
    const INSTANCE_TRIES: usize = 4;
    /// How long a published probe may take to arrive on the other instance.
    const CROSSING: Duration = Duration::from_secs(5);

    struct Probe {
        socket: WebSocket,
        greeting: Greeting,
    }

    /// Why no probe opened.
    enum Unopened {
        /// Sori said no: too many probes from this address for now.
        RateLimited { retry_after_secs: u64 },
        /// The socket did not open, or said no hello.
        Failed,
    }

    fn origin() -> String {
        window().location().origin().unwrap_or_default()
    }

    fn probe_url() -> String {
        let location = window().location();
        let scheme = match location.protocol().as_deref() {
            Ok("https:") => "wss",
            _ => "ws",
        };
        format!(
            "{scheme}://{}/ws/probe",
            location.host().unwrap_or_default()
        )
    }

    fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    /// The next probe frame, within `wait`; `None` if the socket closed or nothing came.
    async fn next_frame(socket: &mut WebSocket, wait: Duration) -> Option<ProbeServerFrame> {
        let next = async {
            loop {
                match socket.next().await? {
                    Ok(Message::Text(text)) => {
                        if let Ok(frame) = serde_json::from_str(&text) {
                            return Some(frame);
                        }
                    }
                    Ok(Message::Bytes(_)) => {}
                    Err(_) => return None,
                }
            }
        };
        let next = std::pin::pin!(next);
        let timeout = std::pin::pin!(sleep(wait));
        match select(next, timeout).await {
            Either::Left((frame, _)) => frame,
            Either::Right(_) => None,
        }
    }

    async fn send(socket: &mut WebSocket, frame: &ProbeClientFrame) -> bool {
        let Ok(text) = serde_json::to_string(frame) else {
            return false;
        };
        socket.send(Message::Text(text)).await.is_ok()
    }

    /// Opens a probe and reads its hello.
    async fn open() -> Result<Probe, Unopened> {
        let mut socket = WebSocket::open(&probe_url()).map_err(|_| Unopened::Failed)?;
        match next_frame(&mut socket, ANSWER)
            .await
            .ok_or(Unopened::Failed)?
        {
            ProbeServerFrame::Hello {
                instance,
                database,
                heartbeat_ms,
                public_origin,
                seen_scheme,
                forwarded_proto,
                proxy_trusted,
                peer,
                ..
            } => Ok(Probe {
                socket,
                greeting: Greeting {
                    instance,
                    database,
                    public_origin,
                    seen_scheme,
                    forwarded_proto,
                    proxy_trusted,
                    peer,
                    heartbeat_ms,
                },
            }),
            ProbeServerFrame::Refused {
                reason: ProbeRefusal::RateLimited { retry_after_secs },
            } => Err(Unopened::RateLimited { retry_after_secs }),
            _ => Err(Unopened::Failed),
        }
    }

    pub async fn run_checks(idle_secs: u64, report: impl Fn(Finding)) {
        let mut first = match open().await {
            Ok(probe) => probe,
            Err(Unopened::RateLimited { retry_after_secs }) => {
                report(verdicts::rate_limited(verdicts::UPGRADE, retry_after_secs));
                return;
            }
            Err(Unopened::Failed) => {
                report(verdicts::upgrade(None));
                return;
            }
        };
        report(verdicts::upgrade(Some(&first.greeting)));
        report(verdicts::secure(&origin(), &first.greeting));

        let mut samples = Vec::new();
        for n in 0..5 {
            let sent = now_ms();
            let echo = ProbeClientFrame::Echo {
                n,
                sent_ms: sent as i64,
            };
            if !send(&mut first.socket, &echo).await {
                break;
            }
            match next_frame(&mut first.socket, ANSWER).await {
                Some(ProbeServerFrame::Echo { .. }) => samples.push(now_ms() - sent),
                _ => break,
            }
        }
        report(verdicts::round_trip(&samples));

        report(several_instances(first).await);

        // Both at once, so the check takes `idle_secs` and not twice as long.
        let beating = open().await;
        let silent = open().await;
        let heartbeat_ms = beating
            .as_ref()
            .or(silent.as_ref())
            .map_or(0, |probe| probe.greeting.heartbeat_ms);
        let (silent, beating) = futures_util::future::join(
            idle(silent, idle_secs, false),
            idle(beating, idle_secs, true),
        )
        .await;
        report(verdicts::idle(idle_secs, silent, beating, heartbeat_ms));
    }

    /// Opens probes until two instances have answered (or the tries run out), then checks
    /// that a probe published on one arrives on the other.
    async fn several_instances(first: Probe) -> Finding {
        let mut greetings = vec![first.greeting.clone()];
        let mut other = None;
        for _ in 1..INSTANCE_TRIES {
            let Ok(probe) = open().await else { break };
            greetings.push(probe.greeting.clone());
            if probe.greeting.instance != first.greeting.instance {
                other = Some(probe);
                break;
            }
        }
        let Some(mut other) = other else {
            return verdicts::instances(&greetings, None);
        };
        let mut first = first;
        let token = format!("doctor-{}", (js_sys::Math::random() * 1e15) as u64);
        let Some(token) = ProbeToken::parse(&token) else {
            return verdicts::instances(&greetings, Some(false));
        };
        let listening = send(
            &mut other.socket,
            &ProbeClientFrame::Listen {
                token: token.clone(),
            },
        )
        .await
            && matches!(
                next_frame(&mut other.socket, ANSWER).await,
                Some(ProbeServerFrame::Listening { .. })
            );
        if !listening {
            return verdicts::instances(&greetings, Some(false));
        }
        let published = send(&mut first.socket, &ProbeClientFrame::Publish { token }).await;
        let arrived = published
            && matches!(
                next_frame(&mut other.socket, CROSSING).await,
                Some(ProbeServerFrame::Arrived { .. })
            );
        verdicts::instances(&greetings, Some(arrived))
    }

    /// Asks the probe to idle for `secs` (silent, or with the server's heartbeat) and
    /// reports whether it stayed open until the server said it was awake.
    async fn idle(probe: Result<Probe, Unopened>, secs: u64, heartbeat: bool) -> Idle {
        let mut probe = match probe {
            Ok(probe) => probe,
            Err(Unopened::RateLimited { retry_after_secs }) => {
                return Idle::RateLimited { retry_after_secs };
            }
            Err(Unopened::Failed) => return Idle::CutAfter(0.0),
        };
        let started = now_ms();
        if !send(
            &mut probe.socket,
            &ProbeClientFrame::Idle { secs, heartbeat },
        )
        .await
        {
            return Idle::CutAfter(0.0);
        }
        let wait = Duration::from_secs(secs) + ANSWER;
        match next_frame(&mut probe.socket, wait).await {
            Some(ProbeServerFrame::Awake { .. }) => Idle::Survived,
            _ => Idle::CutAfter((now_ms() - started) / 1000.0),
        }
    }
}
