//! The request timeout (`SORI_REQUEST_TIMEOUT_MS`): a request whose answer is not ready
//! within it, counted from when its headers were read, gets 408 with the typed
//! [`ApiError::TimedOut`], and whatever was working on it is dropped (a transaction in
//! flight rolls back).
//!
//! It covers the body's arrival too (the body is read inside, by `crate::body_limit`), so a
//! client sending its body a byte a minute is cut off like one trickling its headers
//! (those are `crate::serve`'s header-read timeout). A response streamed as it is made (a
//! server-rendered page sends its shell first and the rest as its data arrives) is bounded by
//! the same deadline: a page the server is still making after it ends is cut short, and the
//! connection closes. Only pages are: a file's reads wait on the disk, and a slow reader of a
//! large file (the wasm bundle on a phone) must get all of it. Nor is a client reading a page
//! slowly cut, since the deadline is checked only while the body waits for its next piece. A
//! WebSocket's 101 is sent at once and the socket it becomes is not timed here.

use std::time::Duration;

use app::error::ApiError;
use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::time::Instant;

/// Answers 408 when the rest of the stack has not answered within `timeout`.
pub async fn limit_duration(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let deadline = Instant::now() + timeout;
    match tokio::time::timeout_at(deadline, next.run(request)).await {
        Ok(response) if is_page(&response) => {
            response.map(|body| finished_by(body, deadline, path))
        }
        Ok(response) => response,
        Err(_) => {
            tracing::debug!(?path, ?timeout, "a request took too long and was abandoned");
            ApiError::TimedOut.into_response()
        }
    }
}

/// Whether the response is a page, the one kind of body the server makes as it goes (a
/// server-rendered page). Files are not: their reads wait on the disk, which is no sign of
/// the server being stuck, and a slow reader of a large file must not be cut.
fn is_page(response: &Response) -> bool {
    response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"))
}

/// `body`, ended with an error if the server is still making it at `deadline`. A body of a
/// known length is already made, and is passed on as it is (keeping its `Content-Length`).
fn finished_by(body: Body, deadline: Instant, path: String) -> Body {
    if body.size_hint().exact().is_some() {
        return body;
    }
    let pieces = body.into_data_stream();
    Body::from_stream(futures_util::stream::unfold(
        Some((pieces, path)),
        move |state| async move {
            let (mut pieces, path) = state?;
            // `timeout_at` looks at the body first: a piece that is ready is passed on even
            // past the deadline, so only a wait on the server is ever cut.
            match tokio::time::timeout_at(deadline, pieces.next()).await {
                Ok(Some(piece)) => Some((piece, Some((pieces, path)))),
                Ok(None) => None,
                Err(_) => {
                    tracing::debug!(?path, "a streamed response took too long and was cut short");
                    Some((Err(axum::Error::new(StreamTimedOut)), None))
                }
            }
        },
    ))
}

/// Why a streamed response ended early (hyper then closes the connection).
#[derive(Debug, thiserror::Error)]
#[error("the response was not finished within the request timeout")]
struct StreamTimedOut;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use http_body_util::BodyExt;

    fn shell_then_nothing() -> Body {
        let shell =
            futures_util::stream::once(async { Ok::<_, std::io::Error>(Bytes::from("<html>")) });
        Body::from_stream(shell.chain(futures_util::stream::pending()))
    }

    #[tokio::test(start_paused = true)]
    async fn a_streamed_body_the_server_has_not_finished_by_the_deadline_is_cut_short() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut body = finished_by(shell_then_nothing(), deadline, "/rooms/1".into());
        let shell = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(shell, "<html>");
        let started = Instant::now();
        let cut = body
            .frame()
            .await
            .expect("an error, not the end of the body");
        assert!(cut.is_err());
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(10),
            "cut at the deadline"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn pieces_ready_past_the_deadline_still_go_out_and_a_sized_body_is_left_alone() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let pieces = futures_util::stream::iter(
            ["a", "b"].map(|piece| Ok::<_, std::io::Error>(Bytes::from(piece))),
        );
        let body = finished_by(Body::from_stream(pieces), deadline, "/".into());
        // A slow reader: it comes back for the pieces long after the deadline.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let read = body.collect().await.unwrap().to_bytes();
        assert_eq!(read, "ab");

        let sized = finished_by(Body::from("made"), deadline, "/".into());
        assert_eq!(sized.size_hint().exact(), Some(4));
    }

    #[test]
    fn only_pages_are_held_to_the_deadline_not_files() {
        let with_type = |content_type: &str| {
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
            response
        };
        assert!(is_page(&with_type("text/html; charset=utf-8")));
        assert!(!is_page(&with_type("application/wasm")));
        assert!(!is_page(&with_type("text/css")));
        assert!(!is_page(&Response::new(Body::empty())));
    }
}
