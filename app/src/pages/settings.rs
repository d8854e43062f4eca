use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::accounts::{ChangePassword, DeleteAccount, SignOutEverywhere, UpdateDisplayName};
use crate::components::form::{FormError, TextField, action_error};
use crate::components::session::{load_page, use_session};
use crate::model::Field;
use crate::model::UserView;
use crate::pages::require_user::RequireUser;
use crate::realtime::use_realtime;

/// `/settings`: display name, password, sessions, and the way out.
#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Title text="Settings" />
        <RequireUser render=|user: UserView| {
            view! { <SettingsForms display_name=user.display_name /> }
        } />
    }
}

#[component]
fn SettingsForms(display_name: String) -> impl IntoView {
    let session = use_session();

    let rename = ServerAction::<UpdateDisplayName>::new();
    let rename_error = action_error(rename.into());
    let current_name = RwSignal::new(display_name);
    let renamed = move || matches!(rename.value().get(), Some(Ok(_)));
    Effect::new(move |_| {
        if let Some(Ok(user)) = rename.value().get() {
            current_name.set(user.display_name);
            session.reload();
        }
    });

    let change_password = ServerAction::<ChangePassword>::new();
    let password_error = action_error(change_password.into());
    let password_changed = move || matches!(change_password.value().get(), Some(Ok(())));

    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let everywhere_error = action_error(everywhere.into());
    let realtime = use_realtime();
    Effect::new(move |_| {
        if let Some(Ok(next)) = everywhere.value().get() {
            realtime.forget_user();
            load_page(&next);
        }
    });

    view! {
        <h1>"Settings"</h1>
        <section class="panel" aria-labelledby="profile-heading">
            <h2 id="profile-heading">"Profile"</h2>
            <ActionForm action=rename>
                <TextField
                    field=Field::DisplayName
                    name="display_name"
                    autocomplete="nickname"
                    error=rename_error
                    value=current_name
                />
                <FormError error=rename_error />
                <button type="submit">"Save"</button>
                <p role="status">{move || renamed().then_some("Saved.")}</p>
            </ActionForm>
        </section>
        <section class="panel" aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            <ActionForm action=change_password>
                <TextField
                    field=Field::CurrentPassword
                    name="current_password"
                    input_type="password"
                    autocomplete="current-password"
                    error=password_error
                />
                <TextField
                    field=Field::NewPassword
                    name="new_password"
                    input_type="password"
                    autocomplete="new-password"
                    error=password_error
                />
                <FormError error=password_error />
                <button type="submit">"Change password"</button>
                <p role="status">
                    {move || {
                        password_changed()
                            .then_some("Password changed. Your other sessions were signed out.")
                    }}
                </p>
            </ActionForm>
        </section>
        <section class="panel" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p>"Signed in somewhere you no longer use? End every session, on every device."</p>
            <ActionForm action=everywhere>
                <FormError error=everywhere_error />
                <button type="submit" class="secondary">"Sign out everywhere"</button>
            </ActionForm>
        </section>
        <section class="panel danger-zone" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete account"</h2>
            <p>"Your messages stay where they are and show as from “deleted user”."</p>
            // A plain GET form: the confirmation step is its own page, so it works without
            // JavaScript too.
            <form method="get" action="/settings/delete-account">
                <button type="submit" class="danger">"Delete account"</button>
            </form>
        </section>
    }
}

/// `/settings/delete-account`: the confirmation step, which asks for the password.
#[component]
pub fn DeleteAccountPage() -> impl IntoView {
    view! {
        <Title text="Delete account" />
        <RequireUser render=|_: UserView| view! { <DeleteAccountForm /> } />
    }
}

#[component]
fn DeleteAccountForm() -> impl IntoView {
    let delete = ServerAction::<DeleteAccount>::new();
    let error = action_error(delete.into());
    let realtime = use_realtime();
    Effect::new(move |_| {
        if let Some(Ok(next)) = delete.value().get() {
            realtime.forget_user();
            load_page(&next);
        }
    });
    view! {
        <section class="panel narrow danger-zone">
            <h1>"Delete your account?"</h1>
            <p>
                "This cannot be undone. Your messages stay where they are and show as from “deleted user”."
            </p>
            <ActionForm action=delete>
                <TextField
                    field=Field::CurrentPassword
                    name="current_password"
                    input_type="password"
                    autocomplete="current-password"
                    error
                />
                <FormError error />
                <button type="submit" class="danger">"Delete my account"</button>
                " "
                <a href="/settings">"Keep my account"</a>
            </ActionForm>
        </section>
    }
}
