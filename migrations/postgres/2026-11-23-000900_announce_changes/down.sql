DROP TRIGGER customers_announce_serial ON customers;
DROP FUNCTION keyward_announce_serial_change();
DROP TRIGGER api_keys_announce_update ON api_keys;
DROP TRIGGER api_keys_announce_insert_delete ON api_keys;
DROP FUNCTION keyward_announce_key_change();
