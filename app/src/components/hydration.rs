//! Knowing when the page has become interactive.

use leptos::prelude::*;

/// Whether hydration has finished (always false while rendering on the server).
#[derive(Clone, Copy)]
pub struct Hydrated(RwSignal<bool>);

impl Hydrated {
    pub fn get(&self) -> bool {
        self.0.get()
    }
}

pub fn use_hydrated() -> Hydrated {
    // Provided by `HydrationMarker` in `App`.
    expect_context::<Hydrated>()
}

/// Provides [`Hydrated`], and sets `data-hydrated` on `<html>` once hydration has finished
/// (tests and curious people with devtools wait for it). Effects run only in the browser and
/// only after hydration, so neither appears in server-rendered HTML.
#[component]
pub fn HydrationMarker() -> impl IntoView {
    let hydrated = RwSignal::new(false);
    provide_context(Hydrated(hydrated));
    Effect::new(move |_| {
        hydrated.set(true);
        if let Some(root) = document().document_element() {
            // Setting an attribute on <html> cannot fail in a browser; there is nothing to
            // recover if it somehow did.
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
