//! HTTP/1.1 written by hand over a loopback TCP socket, for the tests that must send what no
//! well-behaved client sends: a `Content-Length` that lies, a chunked body past a limit,
//! headers trickled a byte at a time. Every read is bounded by a deadline.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response as it came off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "the body is not JSON ({error}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Reads one response (head, then a `Content-Length` body or everything until the peer
/// closes) from `stream`, or `None` if the peer closed first. Panics after `within`.
pub async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<RawResponse> {
    tokio::time::timeout(within, read_response_unbounded(stream))
        .await
        .expect("a response (or a close) within the deadline")
}

async fn read_response_unbounded(stream: &mut TcpStream) -> Option<RawResponse> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut headers);
        if let Ok(httparse::Status::Complete(head_len)) = parsed.parse(&buffer) {
            let status = parsed.code.expect("a status code");
            let headers: Vec<(String, String)> = parsed
                .headers
                .iter()
                .map(|h| {
                    let value = String::from_utf8_lossy(h.value).into_owned();
                    (h.name.to_owned(), value)
                })
                .collect();
            let length = headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.parse::<usize>().ok());
            let mut body = buffer[head_len..].to_vec();
            loop {
                if length.is_some_and(|length| body.len() >= length) {
                    break;
                }
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                }
            }
            if let Some(length) = length {
                body.truncate(length);
            }
            return Some(RawResponse {
                status,
                headers,
                body,
            });
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Sends `request` as written and reads the one response.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream
        .write_all(request)
        .await
        .expect("the request is sent");
    read_response(&mut stream, Duration::from_secs(10))
        .await
        .expect("the server answers before closing")
}
