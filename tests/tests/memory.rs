//! The conformance suite on the in-memory store. Reads no environment variables.

use crm_store_memory::MemoryStore;
use crm_tests::{Backend, conformance_tests};

struct Memory(MemoryStore);

impl Backend for Memory {
    type S = MemoryStore;

    fn store(&self) -> MemoryStore {
        self.0.clone()
    }

    async fn finish(self) {}
}

async fn fresh() -> Memory {
    Memory(MemoryStore::new())
}

conformance_tests!(fresh);
