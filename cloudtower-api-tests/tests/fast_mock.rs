//! The tower most tests here run against: a mock whose tasks take 20 ms, and a client signed
//! in to it.

use std::time::Duration;

use cloudtower_api::{Client, PasswordLogin};
use cloudtower_mock::{MockConfig, MockTower, MOCK_PASSWORD, MOCK_USERNAME};

/// A fresh mock tower (tasks of 20 ms) and a client signed in to it.
pub async fn signed_in() -> (MockTower, Client) {
    let tower = MockTower::start_with(MockConfig {
        task_duration: Duration::from_millis(20),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let client = Client::new(&tower.url()).unwrap();
    client
        .sign_in(PasswordLogin::new(MOCK_USERNAME, MOCK_PASSWORD))
        .await
        .unwrap();
    (tower, client)
}
