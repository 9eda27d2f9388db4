-- A preflight from an allowed origin for a PUT with two custom request headers.
wrk.method = "OPTIONS"
wrk.headers["Origin"] = "https://app2.example.com"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type, authorization"
wrk.headers["Accept"] = "*/*"
