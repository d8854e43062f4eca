//! Form fields whose errors appear next to them, announced to screen readers.

use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::Field;

/// A labelled input. If `error` is about this field, the message shows under it, the input is
/// marked invalid, and the message is linked as its description.
#[component]
pub fn TextField(
    field: Field,
    /// The form field name, which is the server function's argument name.
    name: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    autocomplete: &'static str,
    #[prop(into)] error: Signal<Option<ApiError>>,
    #[prop(optional, into)] value: Option<Signal<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let message = move || {
        error
            .get()
            .and_then(|error| error.for_field(field).map(ToString::to_string))
    };
    let invalid = move || message().is_some().then_some("true");
    view! {
        <div class="field">
            <label for=id.clone()>{field.label()}</label>
            <input
                id=id
                name=name
                type=input_type
                autocomplete=autocomplete
                prop:value=move || value.map(|value| value.get()).unwrap_or_default()
                aria-invalid=invalid
                aria-describedby=error_id.clone()
            />
            <p id=error_id class="field-error">{message}</p>
        </div>
    }
}

/// The error of a form that belongs to no single field ("Wrong username or password.",
/// "Too many attempts, …"), as an alert.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    let message = move || {
        error
            .get()
            .filter(|error| !error.is_field_error())
            .map(|error| error.to_string())
    };
    view! { <p class="form-error" role="alert">{message}</p> }
}

/// The error of the last run of `action`, if it failed.
pub fn action_error<I, O>(action: Action<I, Result<O, ApiError>>) -> Signal<Option<ApiError>>
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}
