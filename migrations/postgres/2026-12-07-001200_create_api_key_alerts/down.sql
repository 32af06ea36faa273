DROP TABLE api_key_alerts;
