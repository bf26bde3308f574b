//! The Matrix adapter: everything that speaks to the homeserver. `sync` reads the rooms (its own
//! loop around `sync_once`, catch-up from the room cursors) and hands command events to the
//! pipeline, `classify` tells what an event is, `outbox` sends what the pipeline queued (with
//! stable transaction IDs) and carries out its `action`s (create a room, invite, edit a card).
//!
//! This module connects: the client with its state and crypto store in `data_dir`, and a session
//! (access token and device ID) persisted there so the device never changes on restart.

pub mod action;
pub mod classify;
pub mod outbox;
pub mod sync;

use std::path::Path;
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::RequestConfig;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::{OwnedDeviceId, OwnedUserId};
use matrix_sdk::{Client, SessionMeta, SessionTokens};
use tracing::info;

use crate::BotError;
use crate::config::{Config, Login};

const SESSION_FILE: &str = "session.json";

/// Errors by which the homeserver refuses the bot's credentials for good.
pub fn rejects(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::Forbidden | ErrorKind::UnknownToken(_))
}

/// Builds the client and logs in, or restores the saved session.
pub async fn connect(config: &Config) -> Result<Client, BotError> {
    std::fs::create_dir_all(config.data_dir.join("matrix"))?;
    let client = Client::builder()
        .homeserver_url(config.homeserver_url.as_str())
        .sqlite_store(config.data_dir.join("matrix"), None)
        // Retries stay short here: the bot's own loops back off and keep state between tries.
        .request_config(RequestConfig::new().retry_limit(2).timeout(Duration::from_secs(60)))
        .build()
        .await
        .map_err(|e| BotError::Matrix(e.to_string()))?;
    let session_path = config.data_dir.join(SESSION_FILE);
    if let Some(session) = read_session(&session_path)? {
        if session.meta.user_id.as_str() != config.user_id.as_str() {
            return Err(BotError::Startup(format!(
                "{} belongs to {}, not to the configured user_id {}",
                session_path.display(),
                session.meta.user_id,
                config.user_id
            )));
        }
        info!(device_id = %session.meta.device_id, "restoring the saved session");
        client.restore_session(session).await.map_err(|e| BotError::Matrix(e.to_string()))?;
        // A token revoked meanwhile (logged out, deactivated) would fail every request.
        if let Err(e) = client.whoami().await {
            return Err(match e.client_api_error_kind() {
                Some(kind) if rejects(kind) => BotError::Rejected(format!(
                    "the saved session in {} is no longer valid ({e}); remove that file to log in again",
                    session_path.display()
                )),
                _ => BotError::Matrix(format!("whoami: {e}")),
            });
        }
        return Ok(client);
    }
    let session = match &config.login {
        Login::Password(password) => {
            let response = client
                .matrix_auth()
                .login_username(config.user_id.as_str(), password.expose())
                .device_id(&config.device_id)
                .initial_device_display_name("Exodus bot")
                .send()
                .await
                .map_err(|e| match e.client_api_error_kind() {
                    Some(kind) if rejects(kind) => {
                        BotError::Rejected(format!("login as {} failed: {e}", config.user_id))
                    }
                    _ => BotError::Matrix(format!("login failed: {e}")),
                })?;
            MatrixSession {
                meta: SessionMeta { user_id: response.user_id, device_id: response.device_id },
                tokens: SessionTokens {
                    access_token: response.access_token,
                    refresh_token: response.refresh_token,
                },
            }
        }
        Login::AccessToken(token) => {
            let whoami = whoami(config, token.expose()).await?;
            MatrixSession {
                meta: SessionMeta { user_id: whoami.0, device_id: whoami.1 },
                tokens: SessionTokens {
                    access_token: token.expose().to_owned(),
                    refresh_token: None,
                },
            }
        }
    };
    if session.meta.user_id.as_str() != config.user_id.as_str() {
        return Err(BotError::Startup(format!(
            "logged in as {}, but user_id is {}",
            session.meta.user_id, config.user_id
        )));
    }
    write_session(&session_path, &session)?;
    if matches!(config.login, Login::AccessToken(_)) {
        client.restore_session(session).await.map_err(|e| BotError::Matrix(e.to_string()))?;
    }
    info!(device_id = ?client.device_id(), "logged in");
    Ok(client)
}

/// The user and device an access token belongs to.
async fn whoami(config: &Config, token: &str) -> Result<(OwnedUserId, OwnedDeviceId), BotError> {
    #[derive(serde::Deserialize)]
    struct WhoAmI {
        user_id: OwnedUserId,
        device_id: Option<OwnedDeviceId>,
    }
    let url = config
        .homeserver_url
        .join("_matrix/client/v3/account/whoami")
        .map_err(|e| BotError::Startup(e.to_string()))?;
    let response = matrix_sdk::reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| BotError::Matrix(format!("whoami: {e}")))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| BotError::Matrix(format!("whoami: {e}")))?;
    if !status.is_success() {
        let errcode = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["errcode"].as_str().map(str::to_owned));
        if matches!(errcode.as_deref(), Some("M_UNKNOWN_TOKEN" | "M_FORBIDDEN")) {
            return Err(BotError::Rejected(format!(
                "the access_token is not valid ({status}, {})",
                errcode.unwrap_or_default()
            )));
        }
        return Err(BotError::Matrix(format!("whoami: the homeserver answered {status}")));
    }
    let who: WhoAmI =
        serde_json::from_str(&text).map_err(|e| BotError::Matrix(format!("whoami: {e}")))?;
    let device = who.device_id.ok_or_else(|| {
        BotError::Startup("the access token has no device; log in with a password once".into())
    })?;
    Ok((who.user_id, device))
}

fn read_session(path: &Path) -> Result<Option<MatrixSession>, BotError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            BotError::Startup(format!("{} is not a session file: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn write_session(path: &Path, session: &MatrixSession) -> Result<(), BotError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let text = serde_json::to_string(session).map_err(|e| BotError::Startup(e.to_string()))?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
