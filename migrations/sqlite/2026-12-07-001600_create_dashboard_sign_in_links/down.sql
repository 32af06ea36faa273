DROP TABLE dashboard_sign_in_links;
