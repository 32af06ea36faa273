DROP TABLE service_credentials;
