//! Contracts of [`Store`]'s own methods: readiness, the instance row, shutdown.

use crate::backend::store::Store;

pub(crate) async fn a_store_answers_pings_and_keeps_one_instance_row(store: &dyn Store) {
    store.ping().await.unwrap();
    let first = store.instance().await.unwrap();
    assert!(
        first.created_ms > 1_600_000_000_000,
        "written at initialisation, in Unix milliseconds: {}",
        first.created_ms
    );
    assert_eq!(first.database_id.len(), 32, "128 random bits in hex");
    assert_eq!(store.instance().await.unwrap(), first);
}

pub(crate) async fn a_closed_store_answers_no_more(store: &dyn Store) {
    store.ping().await.unwrap();
    store.close().await;
    assert!(
        store.ping().await.is_err(),
        "readiness checks fail after shutdown"
    );
}
