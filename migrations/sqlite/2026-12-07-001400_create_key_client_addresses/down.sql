DROP TABLE key_client_addresses;
