//! Per-customer state in memory: the OpenKJ serial and the last request id handed out.

use std::collections::HashMap;

use async_trait::async_trait;
use keyward_domain::CustomerId;
use keyward_domain::ports::{SerialRepository, StorageError};
use keyward_domain::requests::RequestId;
use keyward_domain::serial::Serial;

use crate::MemoryStore;

#[derive(Debug, Default)]
struct CustomerState {
    serial: Serial,
    last_request_id: Option<RequestId>,
}

#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: HashMap<CustomerId, CustomerState>,
    /// Customers whose serial moved under the current lock (see `StateGuard`).
    moved: Vec<CustomerId>,
}

impl Table {
    pub(crate) fn serial(&self, customer: CustomerId) -> Serial {
        self.rows
            .get(&customer)
            .map_or(Serial::INITIAL, |state| state.serial)
    }

    /// Moves the customer's serial on by one; callers do this in the same critical
    /// section as the change it announces.
    pub(crate) fn bump(&mut self, customer: CustomerId) -> Serial {
        let state = self.rows.entry(customer).or_default();
        state.serial = state.serial.next();
        self.moved.push(customer);
        state.serial
    }

    /// The customers whose serial moved since the last call.
    pub(crate) fn take_moved(&mut self) -> Vec<CustomerId> {
        std::mem::take(&mut self.moved)
    }

    /// The customer's next request id, reserved.
    pub(crate) fn take_request_id(
        &mut self,
        customer: CustomerId,
    ) -> Result<RequestId, StorageError> {
        let state = self.rows.entry(customer).or_default();
        let next = match state.last_request_id {
            None => RequestId::FIRST,
            Some(last) => last
                .successor()
                .ok_or(StorageError::Conflict("request_id"))?,
        };
        state.last_request_id = Some(next);
        Ok(next)
    }
}

#[async_trait]
impl SerialRepository for MemoryStore {
    async fn current_serial(&self, customer: CustomerId) -> Result<Serial, StorageError> {
        Ok(self.state().customers.serial(customer))
    }

    async fn seed_serial(&self, customer: CustomerId, serial: Serial) -> Result<(), StorageError> {
        let mut state = self.state();
        state.customers.rows.entry(customer).or_default().serial = serial;
        state.customers.moved.push(customer);
        Ok(())
    }
}
