use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::accounts::Register;
use crate::components::form::{FormError, TextField, action_error};
use crate::components::session::load_page;
use crate::model::Field;

/// `/register`: create an account. Works before the WebAssembly loads.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let register = ServerAction::<Register>::new();
    let error = action_error(register.into());
    let next = use_query_map().with_untracked(|query| query.get("next").unwrap_or_default());
    Effect::new(move |_| {
        if let Some(Ok(next)) = register.value().get() {
            load_page(&next);
        }
    });
    let sign_in_href = format!("/login?next={}", urlencode(&next));

    view! {
        <Title text="Create account" />
        <section class="panel narrow">
            <h1>"Create account"</h1>
            <ActionForm action=register>
                <input type="hidden" name="next" value=next />
                <TextField field=Field::Username name="username" autocomplete="username" error />
                <TextField
                    field=Field::DisplayName
                    name="display_name"
                    autocomplete="nickname"
                    error
                />
                <TextField
                    field=Field::Password
                    name="password"
                    input_type="password"
                    autocomplete="new-password"
                    error
                />
                <FormError error />
                <button type="submit">"Create account"</button>
            </ActionForm>
            <p>"Already have an account? " <a href=sign_in_href>"Sign in instead"</a></p>
        </section>
    }
}

/// Percent-encodes a path for use as a query value.
pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
