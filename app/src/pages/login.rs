use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::register::urlencode;
use crate::api::accounts::SignIn;
use crate::components::form::{FormError, TextField, action_error};
use crate::components::session::load_page;
use crate::model::Field;

/// `/login?next=…`: sign in, then go back to where the visitor was headed.
#[component]
pub fn LoginPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let error = action_error(sign_in.into());
    let next = use_query_map().with_untracked(|query| query.get("next").unwrap_or_default());
    Effect::new(move |_| {
        if let Some(Ok(next)) = sign_in.value().get() {
            load_page(&next);
        }
    });
    let register_href = format!("/register?next={}", urlencode(&next));

    view! {
        <Title text="Sign in" />
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=sign_in>
                <input type="hidden" name="next" value=next />
                <TextField field=Field::Username name="username" autocomplete="username" error />
                <TextField
                    field=Field::Password
                    name="password"
                    input_type="password"
                    autocomplete="current-password"
                    error
                />
                <FormError error />
                <button type="submit">"Sign in"</button>
            </ActionForm>
            <p>"New here? " <a href=register_href>"Create an account"</a></p>
        </section>
    }
}
