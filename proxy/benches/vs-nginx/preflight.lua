-- A CORS preflight for a POST with a JSON body, which both contenders answer 204 themselves.
wrk.method = "OPTIONS"
wrk.headers["Origin"] = "http://localhost:5173"
wrk.headers["Access-Control-Request-Method"] = "POST"
wrk.headers["Access-Control-Request-Headers"] = "content-type"
