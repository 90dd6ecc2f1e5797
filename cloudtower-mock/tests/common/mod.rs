//! A signed-in raw HTTP session with a mock tower, shared by the tests that speak JSON.
#![allow(dead_code)]

pub mod requests;

use std::time::Duration;

use cloudtower_mock::{MockConfig, MockTower, MOCK_PASSWORD, MOCK_USERNAME};
use serde_json::{json, Value};

/// The `id` of a record (panics without one).
pub fn id_of(record: &Value) -> String {
    record["id"].as_str().expect("an id").to_owned()
}

/// The first record `list` answers for `filter` (`null` when none).
pub async fn first(session: &Session, list: &str, filter: Value) -> Value {
    let (status, found) = session.call(list, &json!({ "where": filter })).await;
    assert_eq!(status, 200, "{list}: {found}");
    found[0].clone()
}

pub struct Session {
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
}

impl Session {
    /// A tower whose tasks take 20 ms, and a session signed in to it.
    pub async fn start() -> (MockTower, Session) {
        Session::start_with(MockConfig {
            task_duration: Duration::from_millis(20),
            ..MockConfig::default()
        })
        .await
    }

    pub async fn start_with(config: MockConfig) -> (MockTower, Session) {
        let tower = MockTower::start_with(config).await.unwrap();
        let http = reqwest::Client::new();
        let url = tower.url();
        let login: Value = http
            .post(format!("{url}/v2/api/login"))
            .json(&json!({ "username": MOCK_USERNAME, "password": MOCK_PASSWORD }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["data"]["token"].as_str().unwrap().to_owned();
        (tower, Session { http, url, token })
    }

    pub async fn call(&self, path: &str, body: &Value) -> (u16, Value) {
        let answer = self
            .http
            .post(format!("{}/v2/api/{path}", self.url))
            .header("authorization", &self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Calls a mutation and waits for its tasks to succeed; its answers' `data` (panics on a
    /// refusal or a failed task).
    pub async fn mutate(&self, path: &str, body: &Value) -> Vec<Value> {
        self.try_mutate(path, body)
            .await
            .unwrap_or_else(|why| panic!("{why}"))
    }

    /// Calls a mutation (answering one `WithTask<T>` or a list of them, or records without a
    /// task) and waits for its tasks to succeed (at most 2 s each); the records answered.
    pub async fn try_mutate(&self, path: &str, body: &Value) -> Result<Vec<Value>, String> {
        let (status, answer) = self.call(path, body).await;
        if status != 200 {
            return Err(format!("{path} answered {status} {answer} for {body}"));
        }
        let answers = match answer {
            Value::Array(items) => items,
            one => vec![one],
        };
        for answer in &answers {
            let Some(task) = answer["task_id"].as_str() else {
                continue;
            };
            let mut ended = false;
            for _ in 0..200 {
                let (_, tasks) = self
                    .call("get-tasks", &json!({ "where": { "id": task } }))
                    .await;
                match tasks[0]["status"].as_str() {
                    Some("SUCCESSED") => {
                        ended = true;
                        break;
                    }
                    Some("FAILED") => return Err(format!("{path}: its task failed: {}", tasks[0])),
                    _ => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
            if !ended {
                return Err(format!("{path}: task {task} did not end in 2 s"));
            }
        }
        // `WithTask<T>` answers carry the record in `data`; a few operations answer it bare.
        Ok(answers
            .into_iter()
            .map(|a| match a.get("data") {
                Some(data) if a.get("task_id").is_some() => data.clone(),
                _ => a,
            })
            .collect())
    }

    pub async fn read(&self, list: &str, id: &str) -> Vec<Value> {
        let (status, found) = self.call(list, &json!({ "where": { "id": id } })).await;
        assert_eq!(status, 200, "{list}: {found}");
        found.as_array().unwrap().clone()
    }
}
