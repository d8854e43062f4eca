//! Tells tests (and curious people with devtools) when the page has become interactive.

use leptos::prelude::*;

/// Sets `data-hydrated` on `<html>` once hydration has finished. Effects run only in the
/// browser and only after hydration, so the attribute never appears in server-rendered HTML:
/// its presence means every button on the page is now live.
#[component]
pub fn HydrationMarker() -> impl IntoView {
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            // Setting an attribute on <html> cannot fail in a browser; there is nothing to
            // recover if it somehow did.
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
