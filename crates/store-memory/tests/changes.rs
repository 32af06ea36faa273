//! The change-feed contract on the memory store (writer and feed are the same store).

use std::sync::Arc;

use keyward_domain::testing::changes::FeedFixture;
use keyward_store_memory::MemoryStore;

// The contract macro awaits `setup`, whichever store it builds.
#[allow(clippy::unused_async)]
async fn setup() -> Option<(Arc<FeedFixture>, ())> {
    let store = Arc::new(MemoryStore::new());
    Some((
        Arc::new(FeedFixture {
            keys: store.clone(),
            serials: store.clone(),
            feed: store,
        }),
        (),
    ))
}

keyward_domain::change_feed_contract!(setup);
