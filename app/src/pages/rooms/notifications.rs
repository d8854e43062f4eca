//! The room page's "Notifications" group: the member's level for this room ("All
//! messages", "Mentions only", "Nothing"), and the browser's permission to show them.
//!
//! Without JavaScript the group is a form with a "Save" button; with it, a choice applies at
//! once. Permission is asked only from a click on "Turn on browser notifications", never on
//! load, and the button is not offered once the browser has answered.

use leptos::prelude::*;

use crate::api::rooms::SetNotifications;
use crate::components::form::action_error;
use crate::components::hydration::use_hydrated;
use crate::model::{Field, NotificationLevel, RoomView};
use crate::realtime::notify::Permission;
use crate::realtime::{ask_notification_permission, notification_permission, use_realtime};

#[component]
pub fn NotificationSettings(room: RoomView) -> impl IntoView {
    let action = ServerAction::<SetNotifications>::new();
    let realtime = use_realtime();
    let hydrated = use_hydrated();
    let chosen = RwSignal::new(room.notify);
    let id = room.id;
    Effect::new(move |_| {
        if let Some(Ok(saved)) = action.value().get() {
            chosen.set(saved.notify);
            realtime.set_notification_level(saved.id, saved.notify);
        }
    });
    let error = action_error(action.into());
    let message = move || {
        error
            .get()
            .map(|error| match error.for_field(Field::Notifications) {
                Some(field_error) => field_error.to_string(),
                None => error.to_string(),
            })
    };
    let choose = move |level: NotificationLevel| {
        chosen.set(level);
        action.dispatch(SetNotifications {
            id,
            level: level.as_str().to_owned(),
        });
    };
    view! {
        <ActionForm action attr:class="notification-settings">
            <input type="hidden" name="id" value=id.to_string() />
            <fieldset aria-describedby="notifications-error">
                <legend>"Notifications"</legend>
                {NotificationLevel::CHOICES
                    .into_iter()
                    .map(|level| view! {
                        <label class="choice">
                            <input
                                type="radio"
                                name="level"
                                value=level.as_str()
                                // The attribute for the served page (and without JavaScript),
                                // the property for the live one.
                                checked=chosen.get_untracked() == level
                                prop:checked=move || chosen.get() == level
                                on:change=move |_| choose(level)
                            />
                            {level.label()}
                        </label>
                    })
                    .collect_view()}
                // With JavaScript a choice applies as it is made.
                <button type="submit" class="secondary" hidden=move || hydrated.get()>"Save"</button>
                <p id="notifications-error" class="field-error" role="alert">{message}</p>
                <BrowserPermission />
            </fieldset>
        </ActionForm>
    }
}

/// Whether this browser shows notifications, and the click that lets it.
#[component]
fn BrowserPermission() -> impl IntoView {
    let hydrated = use_hydrated();
    let permission = RwSignal::new(Permission::Unsupported);
    Effect::new(move |_| {
        if hydrated.get() {
            permission.set(notification_permission());
        }
    });
    let ask = move |_| ask_notification_permission(move |answer| permission.set(answer));
    move || {
        match permission.get() {
        Permission::Unsupported => ().into_any(),
        Permission::Ask => view! {
            <button type="button" class="secondary" on:click=ask>
                "Turn on browser notifications"
            </button>
        }
        .into_any(),
        Permission::Granted => {
            view! { <p class="hint">"Browser notifications are on while this tab is in the background."</p> }
                .into_any()
        }
        Permission::Denied => {
            view! { <p class="hint">"This browser blocks notifications from Sori; allow them in its site settings."</p> }
                .into_any()
        }
    }
    }
}
