//! Raw HTTP/1.1 over the doctor's stream: it writes the request bytes itself and parses the
//! answer's head with `httparse`, so it sees exactly what came back (the status, every
//! header, a proxy's own page) and can keep the stream for a WebSocket after a 101.
//!
//! It is deliberately minimal: one request per connection, no redirects, no chunked
//! decoding beyond reading until close (the doctor only reads small JSON bodies).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::net::{NetError, STEP_TIMEOUT, Stream};

/// The longest head or body the doctor reads.
const MAX_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the answer is not HTTP/1.1: {0}")]
    Parse(String),
    #[error("the connection closed before an answer")]
    Closed,
}

/// An answer's head, its body so far, and what followed the head (for a 101, the first
/// WebSocket bytes).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub rest: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Writes `GET path` with these headers (Host among them) and reads the answer's head.
pub async fn get(
    stream: &mut Stream,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Answer, HttpError> {
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("User-Agent: sori-doctor\r\n\r\n");
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        stream.flush().await?;
        read_head(stream).await
    };
    tokio::time::timeout(STEP_TIMEOUT, exchange)
        .await
        .map_err(|_| NetError::Timeout)?
}

async fn read_head(stream: &mut Stream) -> Result<Answer, HttpError> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(HttpError::Closed);
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buffer) {
            Ok(httparse::Status::Complete(length)) => {
                let status = response.code.unwrap_or(0);
                let headers = response
                    .headers
                    .iter()
                    .map(|header| {
                        let value = String::from_utf8_lossy(header.value).into_owned();
                        (header.name.to_owned(), value)
                    })
                    .collect();
                return Ok(Answer {
                    status,
                    headers,
                    rest: buffer[length..].to_vec(),
                });
            }
            Ok(httparse::Status::Partial) if buffer.len() < MAX_BYTES => continue,
            Ok(httparse::Status::Partial) => return Err(HttpError::Parse("head too long".into())),
            Err(error) => return Err(HttpError::Parse(error.to_string())),
        }
    }
}

/// Reads the body of `answer` (Content-Length, else until the server closes), at most
/// [`MAX_BYTES`].
pub async fn body(stream: &mut Stream, answer: &Answer) -> Result<Vec<u8>, HttpError> {
    let wanted = answer
        .header("content-length")
        .and_then(|length| length.trim().parse::<usize>().ok())
        .map(|length| length.min(MAX_BYTES));
    let mut body = answer.rest.clone();
    let mut chunk = [0u8; 4096];
    let read_all = async {
        while wanted.is_none_or(|wanted| body.len() < wanted) && body.len() < MAX_BYTES {
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..read]);
        }
        Ok::<(), std::io::Error>(())
    };
    tokio::time::timeout(STEP_TIMEOUT, read_all)
        .await
        .map_err(|_| NetError::Timeout)??;
    if let Some(wanted) = wanted {
        body.truncate(wanted);
    }
    Ok(body)
}
