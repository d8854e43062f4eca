//! The browser entry point. cargo-leptos compiles this crate to WebAssembly; the generated
//! JavaScript calls [`hydrate`] once the server-rendered page has loaded, and from then on the
//! page is interactive. Everything else lives in `app`.

/// Attaches the reactive app to the HTML the server rendered, instead of rendering it again.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
