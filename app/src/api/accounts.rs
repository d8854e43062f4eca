//! Accounts: sign up, sign in, sign out (here or everywhere), and settings.
//!
//! The forms post here without JavaScript too: on success the function redirects (302 for a
//! plain form post), on failure Leptos sends the browser back to the form with the typed error
//! in the URL, where the form shows it next to its field. The functions that move the browser
//! elsewhere return that path, so the hydrated page can go there with a full load (which
//! renders every part of the page for the new session).

use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::UserView;

/// Who is signed in, if anyone.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<UserView>, ApiError> {
    let backend = crate::backend::Backend::from_context()?;
    Ok(backend.current_user().await?.map(|current| current.user))
}

/// Creates an account, signs it in, and goes to `next` (a path on this site) or home.
#[server(endpoint = "register")]
pub async fn register(
    username: String,
    display_name: String,
    password: String,
    next: Option<String>,
) -> Result<String, ApiError> {
    use crate::backend::{Backend, request::RequestContext};
    let backend = Backend::from_context()?;
    let request = RequestContext::current()?;
    let accounts = backend.accounts();
    let arrival = request.arrival(backend.ingress());
    let (_, token) = accounts
        .register(arrival.client, &username, &display_name, &password)
        .await?;
    request.set_cookie(&accounts.cookie(arrival.https).issue(&token));
    let next = crate::model::safe_next(next.as_deref());
    request.redirect_form_post(&next);
    Ok(next)
}

/// Signs in with a username and password, then goes to `next` or home.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<String, ApiError> {
    use crate::backend::{Backend, request::RequestContext};
    let backend = Backend::from_context()?;
    let request = RequestContext::current()?;
    let accounts = backend.accounts();
    let arrival = request.arrival(backend.ingress());
    let (_, token) = accounts
        .sign_in(
            arrival.client,
            &username,
            &password,
            request.headers(),
            arrival.https,
        )
        .await?;
    request.set_cookie(&accounts.cookie(arrival.https).issue(&token));
    let next = crate::model::safe_next(next.as_deref());
    request.redirect_form_post(&next);
    Ok(next)
}

/// Ends this session. Signing out when already signed out is not an error.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<String, ApiError> {
    use crate::backend::{Backend, request::RequestContext};
    let backend = Backend::from_context()?;
    let request = RequestContext::current()?;
    if let Some(user) = backend.current_user().await? {
        backend.accounts().sign_out(&user).await?;
    }
    request.set_cookie(&backend.session_cookie(&request).clear());
    request.redirect_form_post("/");
    Ok("/".to_owned())
}

/// Ends every session of the signed-in user, on every device, this one included.
#[server(endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<String, ApiError> {
    use crate::backend::{Backend, request::RequestContext};
    let (backend, user) = Backend::signed_in().await?;
    let request = RequestContext::current()?;
    backend.accounts().sign_out_everywhere(&user).await?;
    request.set_cookie(&backend.session_cookie(&request).clear());
    request.redirect_form_post("/login");
    Ok("/login".to_owned())
}

/// Changes the signed-in user's display name.
#[server(endpoint = "update_display_name")]
pub async fn update_display_name(display_name: String) -> Result<UserView, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend
        .accounts()
        .set_display_name(&user, &display_name)
        .await
}

/// Changes the password; the current one is required. Other sessions end.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend
        .accounts()
        .change_password(&user, &current_password, &new_password)
        .await
}

/// Deletes the signed-in user's account after checking the password.
#[server(endpoint = "delete_account")]
pub async fn delete_account(current_password: String) -> Result<String, ApiError> {
    use crate::backend::{Backend, request::RequestContext};
    let (backend, user) = Backend::signed_in().await?;
    let request = RequestContext::current()?;
    backend
        .accounts()
        .delete_account(&user, &current_password)
        .await?;
    request.set_cookie(&backend.session_cookie(&request).clear());
    request.redirect_form_post("/");
    Ok("/".to_owned())
}
