//! A [`Transport`] for native tests: answers scripted per URL, and a record of what was sent
//! and how long the client chose to wait.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use url::Url;

use super::{RawResponse, Request, Transport, TransportError};

type Answer = Result<RawResponse, TransportError>;

/// Scripted answers by URL. Several answers for one URL are given in turn and the last one
/// repeats; a URL with no answer fails. Sleeps are recorded, not slept, and the clock stands
/// still. Header values are recorded as sent (credentials included): for tests only.
#[derive(Debug, Default)]
pub struct ScriptedTransport {
    answers: RefCell<BTreeMap<String, VecDeque<Answer>>>,
    requests: RefCell<Vec<SentRequest>>,
    sleeps: RefCell<Vec<Duration>>,
}

/// One request a [`ScriptedTransport`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRequest {
    pub url: String,
    /// `(name, value)` as sent.
    pub headers: Vec<(String, String)>,
}

impl SentRequest {
    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The URL as the client sends it (normalised), so scripts may be written either way.
fn key(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_owned(), String::from)
}

impl ScriptedTransport {
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `url` with `response` (after the answers already scripted for it).
    pub fn on(&self, url: &str, response: RawResponse) {
        self.push(url, Ok(response));
    }

    /// Fails requests to `url` with `error` (after the answers already scripted for it).
    pub fn fail(&self, url: &str, error: TransportError) {
        self.push(url, Err(error));
    }

    fn push(&self, url: &str, answer: Answer) {
        self.answers
            .borrow_mut()
            .entry(key(url))
            .or_default()
            .push_back(answer);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<SentRequest> {
        self.requests.borrow().clone()
    }

    /// The URLs requested, in order.
    pub fn urls(&self) -> Vec<String> {
        self.requests
            .borrow()
            .iter()
            .map(|r| r.url.clone())
            .collect()
    }

    /// Every wait the client asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.borrow().clone()
    }
}

impl Transport for ScriptedTransport {
    fn send(&self, request: &Request) -> Result<RawResponse, TransportError> {
        let url = request.url.as_str();
        self.requests.borrow_mut().push(SentRequest {
            url: url.to_owned(),
            headers: request
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        });
        let mut answers = self.answers.borrow_mut();
        let queue = answers
            .get_mut(url)
            .ok_or_else(|| TransportError::Other(format!("no scripted answer for {url}")))?;
        let answer = if queue.len() > 1 {
            queue.pop_front()
        } else {
            queue.front().cloned()
        };
        answer.unwrap_or_else(|| {
            Err(TransportError::Other(format!(
                "no scripted answer for {url}"
            )))
        })
    }

    fn sleep(&self, duration: Duration) {
        self.sleeps.borrow_mut().push(duration);
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}
