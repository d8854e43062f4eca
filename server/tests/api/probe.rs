//! `/ws/probe`, the anonymous diagnostic socket: what it reports, what it does on request,
//! and the bounds it keeps (a rate per address, a lifetime per socket).

use std::time::Duration;

use app::protocol::probe::{ProbeClientFrame, ProbeRefusal, ProbeServerFrame, ProbeToken, Scheme};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::TestApp;

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

async fn open(app: &TestApp, origin: &str) -> Result<Stream, (u16, String, String)> {
    let mut request = format!("ws://{}/ws/probe", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(origin).unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((stream, response)) => {
            assert_eq!(response.headers()["x-sori-probe"], "ok");
            Ok(stream)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let marker = response
                .headers()
                .get("x-sori-probe")
                .map(|value| value.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default());
            Err((response.status().as_u16(), marker, body.into_owned()))
        }
        Err(error) => panic!("the probe did not open: {error}"),
    }
}

/// The next message of any kind, within `WAIT`.
async fn next_message(stream: &mut Stream) -> Option<Message> {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("a message within the wait")
        .map(|message| message.expect("a readable message"))
}

async fn next_frame(stream: &mut Stream) -> ProbeServerFrame {
    loop {
        match next_message(stream).await {
            Some(Message::Text(text)) => return serde_json::from_str(&text).unwrap(),
            Some(Message::Ping(_) | Message::Pong(_)) => continue,
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

async fn send(stream: &mut Stream, frame: &ProbeClientFrame) {
    let text = serde_json::to_string(frame).unwrap();
    stream.send(Message::Text(text.into())).await.unwrap();
}

fn token(text: &str) -> ProbeToken {
    ProbeToken::parse(text).unwrap()
}

#[tokio::test]
async fn a_probe_says_hello_with_the_instance_and_database_of_healthz_and_echoes() {
    let app = TestApp::spawn().await;
    let health: serde_json::Value = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut probe = open(&app, &app.origin()).await.unwrap();
    let ProbeServerFrame::Hello {
        instance,
        database,
        public_origin,
        seen_scheme,
        forwarded_proto,
        proxy_trusted,
        heartbeat_ms,
        lifetime_ms,
        ..
    } = next_frame(&mut probe).await
    else {
        panic!("the first frame is not hello");
    };
    assert_eq!(instance, health["instance"].as_str().unwrap());
    assert_eq!(database, health["database"].as_str().unwrap());
    assert_ne!(database, "unknown");
    assert_eq!(public_origin, app.origin());
    assert_eq!(seen_scheme, Scheme::Http);
    assert_eq!(forwarded_proto, None);
    assert!(!proxy_trusted);
    assert_eq!(heartbeat_ms, 20_000);
    assert_eq!(lifetime_ms, 200_000);

    send(&mut probe, &ProbeClientFrame::Echo { n: 3, sent_ms: 42 }).await;
    let ProbeServerFrame::Echo {
        n,
        sent_ms,
        time_ms,
    } = next_frame(&mut probe).await
    else {
        panic!("no echo");
    };
    assert_eq!((n, sent_ms), (3, 42));
    assert!(time_ms > 1_700_000_000_000, "a Unix time in ms: {time_ms}");
}

#[tokio::test]
async fn a_trusted_proxys_forwarded_scheme_is_believed_and_an_untrusted_ones_is_only_reported() {
    let trusting = TestApp::spawn_with(|config| {
        config.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let untrusting = TestApp::spawn().await;
    for (app, trusted, scheme) in [
        (&trusting, true, Scheme::Https),
        (&untrusting, false, Scheme::Http),
    ] {
        let mut request = format!("ws://{}/ws/probe", app.addr)
            .into_client_request()
            .unwrap();
        // Behind a trusted proxy saying https, the page (and its Origin) is on https.
        let origin = if trusted {
            app.origin().replacen("http://", "https://", 1)
        } else {
            app.origin()
        };
        let headers = request.headers_mut();
        headers.insert("origin", HeaderValue::from_str(&origin).unwrap());
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let (mut probe, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let ProbeServerFrame::Hello {
            seen_scheme,
            secure_cookie,
            public_origin,
            forwarded_proto,
            proxy_trusted,
            ..
        } = next_frame(&mut probe).await
        else {
            panic!("no hello");
        };
        assert_eq!(seen_scheme, scheme);
        assert_eq!(secure_cookie, trusted);
        assert_eq!(public_origin, origin, "the origin expected of this request");
        assert_eq!(forwarded_proto.as_deref(), Some("https"));
        assert_eq!(proxy_trusted, trusted);
    }
}

#[tokio::test]
async fn a_foreign_origin_is_refused_with_the_expected_origin_named() {
    let app = TestApp::spawn().await;
    let (status, marker, body) = open(&app, "https://elsewhere.example").await.unwrap_err();
    assert_eq!(status, 403);
    assert_eq!(marker, "foreign-origin");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["expected"], app.origin());
    assert_eq!(body["origin"], "https://elsewhere.example");
}

#[tokio::test]
async fn a_request_without_upgrade_headers_is_answered_with_sori_s_marker() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/ws/probe"))
        .header("origin", app.origin())
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 426);
    assert_eq!(response.headers()["x-sori-probe"], "no-upgrade");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "no_upgrade");
    assert_eq!(body["upgrade"], serde_json::Value::Null);
    assert_eq!(body["sec_websocket_key"], true);
}

#[tokio::test]
async fn the_chat_socket_still_needs_a_session() {
    let app = TestApp::spawn().await;
    let refused = crate::support::socket::Socket::open(app.addr, None, Some(&app.origin())).await;
    assert_eq!(refused.err(), Some(401));
}

#[tokio::test]
async fn the_probe_past_the_rate_bound_from_one_address_is_refused_typed() {
    let app = TestApp::spawn_with(|config| {
        config.probe.burst = 3;
        config.probe.interval_ms = 60_000;
    })
    .await;
    let mut open_ones = Vec::new();
    for _ in 0..3 {
        let mut probe = open(&app, &app.origin()).await.unwrap();
        assert!(matches!(
            next_frame(&mut probe).await,
            ProbeServerFrame::Hello { .. }
        ));
        open_ones.push(probe);
    }
    let mut refused = open(&app, &app.origin()).await.unwrap();
    let frame = next_frame(&mut refused).await;
    let ProbeServerFrame::Refused {
        reason: ProbeRefusal::RateLimited { retry_after_secs },
    } = frame
    else {
        panic!("the fourth probe was not refused: {frame:?}");
    };
    assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}");
    let Some(Message::Close(Some(close))) = next_message(&mut refused).await else {
        panic!("no close after the refusal");
    };
    assert_eq!(u16::from(close.code), 1008);
}

#[tokio::test]
async fn a_probe_is_closed_with_the_stated_reason_when_its_lifetime_is_over() {
    let app = TestApp::spawn_with(|config| config.probe.lifetime_ms = 600).await;
    let mut probe = open(&app, &app.origin()).await.unwrap();
    let opened = tokio::time::Instant::now();
    assert!(matches!(
        next_frame(&mut probe).await,
        ProbeServerFrame::Hello {
            lifetime_ms: 600,
            ..
        }
    ));
    // An idle past the lifetime is refused, and the socket stays open until its end.
    send(
        &mut probe,
        &ProbeClientFrame::Idle {
            secs: 5,
            heartbeat: false,
        },
    )
    .await;
    assert_eq!(
        next_frame(&mut probe).await,
        ProbeServerFrame::Refused {
            reason: ProbeRefusal::TooLong { lifetime_ms: 600 }
        }
    );
    let Some(Message::Close(Some(close))) = next_message(&mut probe).await else {
        panic!("the probe was not closed with a frame");
    };
    assert_eq!(u16::from(close.code), 1000);
    assert_eq!(close.reason.as_str(), "probe lifetime over");
    assert!(opened.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn an_idle_probe_hears_nothing_or_only_pings_then_awakes() {
    let app = TestApp::spawn_with(|config| config.realtime.heartbeat_ms = 200).await;
    for heartbeat in [false, true] {
        let mut probe = open(&app, &app.origin()).await.unwrap();
        next_frame(&mut probe).await;
        send(&mut probe, &ProbeClientFrame::Idle { secs: 1, heartbeat }).await;
        let mut pings = 0;
        let after_ms = loop {
            match next_message(&mut probe).await {
                Some(Message::Ping(_)) => pings += 1,
                Some(Message::Text(text)) => match serde_json::from_str(&text).unwrap() {
                    ProbeServerFrame::Awake { after_ms } => break after_ms,
                    other => panic!("unexpected {other:?}"),
                },
                other => panic!("unexpected {other:?}"),
            }
        };
        assert!((1_000..3_000).contains(&after_ms), "{after_ms}");
        if heartbeat {
            assert!(pings >= 3, "{pings} pings in a second at 200 ms");
        } else {
            assert_eq!(pings, 0);
        }
    }
}

#[tokio::test]
async fn a_published_token_arrives_at_the_probes_listening_for_it() {
    let app = TestApp::spawn().await;
    let mut listener = open(&app, &app.origin()).await.unwrap();
    let ProbeServerFrame::Hello { instance, .. } = next_frame(&mut listener).await else {
        panic!("no hello");
    };
    send(
        &mut listener,
        &ProbeClientFrame::Listen { token: token("t1") },
    )
    .await;
    assert_eq!(
        next_frame(&mut listener).await,
        ProbeServerFrame::Listening { token: token("t1") }
    );
    let mut publisher = open(&app, &app.origin()).await.unwrap();
    next_frame(&mut publisher).await;
    send(
        &mut publisher,
        &ProbeClientFrame::Publish {
            token: token("other"),
        },
    )
    .await;
    send(
        &mut publisher,
        &ProbeClientFrame::Publish { token: token("t1") },
    )
    .await;
    assert_eq!(
        next_frame(&mut listener).await,
        ProbeServerFrame::Arrived {
            token: token("t1"),
            from: instance
        }
    );
}

#[tokio::test]
async fn a_published_token_crosses_to_another_instance_on_one_postgresql() {
    let (_database, first, second) = crate::instances::two_instances(|_| {}).await;
    let mut listener = open(&second, &second.origin()).await.unwrap();
    next_frame(&mut listener).await;
    send(
        &mut listener,
        &ProbeClientFrame::Listen { token: token("x") },
    )
    .await;
    next_frame(&mut listener).await;
    let mut publisher = open(&first, &first.origin()).await.unwrap();
    let ProbeServerFrame::Hello {
        instance, database, ..
    } = next_frame(&mut publisher).await
    else {
        panic!("no hello");
    };
    send(
        &mut publisher,
        &ProbeClientFrame::Publish { token: token("x") },
    )
    .await;
    assert_eq!(
        next_frame(&mut listener).await,
        ProbeServerFrame::Arrived {
            token: token("x"),
            from: instance
        }
    );
    let ProbeServerFrame::Hello {
        database: second_database,
        ..
    } = next_frame(&mut open(&second, &second.origin()).await.unwrap()).await
    else {
        panic!("no hello");
    };
    assert_eq!(database, second_database, "one database, one id");
}

#[tokio::test]
async fn a_socket_publishes_a_few_tokens_at_most() {
    let app = TestApp::spawn().await;
    let mut publisher = open(&app, &app.origin()).await.unwrap();
    next_frame(&mut publisher).await;
    // Four publishes pass (a doctor's run makes one); the fifth ends the socket.
    for n in 0..5 {
        send(
            &mut publisher,
            &ProbeClientFrame::Publish {
                token: token(&format!("t{n}")),
            },
        )
        .await;
    }
    assert_eq!(
        next_frame(&mut publisher).await,
        ProbeServerFrame::Refused {
            reason: ProbeRefusal::BadFrame
        }
    );
    let Some(Message::Close(Some(close))) = next_message(&mut publisher).await else {
        panic!("no close after the refusal");
    };
    assert_eq!(u16::from(close.code), 1008);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_soon_after_the_lifetime() {
    // The lifetime leaves the filling below time to stall even on a machine busy with other
    // tests (a 4 s lifetime once ran out first, while compilers ran beside it).
    let app = TestApp::spawn_with(|config| config.probe.lifetime_ms = 8_000).await;
    // A tiny receive buffer: the server's answers back up after a few kilobytes.
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(2048).unwrap();
    let stream = tcp.connect(app.addr).await.unwrap();
    let mut request = format!("ws://{}/ws/probe", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(&app.origin()).unwrap());
    let (mut probe, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .expect("the probe opens");
    let opened = tokio::time::Instant::now();
    // Echo requests, never reading the answers, until the server stops reading them: it is
    // then stuck writing to us.
    let echo = serde_json::to_string(&ProbeClientFrame::Echo { n: 1, sent_ms: 0 }).unwrap();
    let mut stalled = false;
    for _ in 0..1_000_000 {
        let sent = tokio::time::timeout(
            Duration::from_secs(1),
            probe.send(Message::Text(echo.clone().into())),
        )
        .await;
        match sent {
            Ok(Ok(())) => {}
            // Blocked for a second: the server is not reading.
            Err(_) => {
                stalled = true;
                break;
            }
            Ok(Err(error)) => panic!("the probe failed before it stalled: {error}"),
        }
        if opened.elapsed() > Duration::from_millis(6_500) {
            break;
        }
    }
    assert!(
        stalled,
        "the server never stopped reading within its lifetime"
    );
    // Past the lifetime (8 s) and the write timeout (5 s), with room to spare.
    tokio::time::sleep_until(opened + Duration::from_secs(15)).await;
    // Still not reading: the server has dropped the socket by now, with our requests unread
    // in its buffer, so the kernel reset the connection and a write fails at once. Had the
    // server stayed stuck writing to us, the connection would still be up, its window shut:
    // the write would only find no room (WouldBlock).
    let written = probe.get_ref().try_write(b"x");
    assert!(
        matches!(&written, Err(error) if matches!(
            error.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        )),
        "the connection is still open: {written:?}"
    );
}
