DROP TRIGGER customers_log_delete;
DROP TRIGGER customers_log_insert;
DROP TRIGGER customers_log_serial;
DROP TRIGGER api_keys_log_update;
DROP TRIGGER api_keys_log_delete;
DROP TRIGGER api_keys_log_insert;
DROP TABLE change_log;
