# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_cors_global_optspecs
    string join \n h/help V/version
end

function __fish_cors_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_cors_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_cors_using_subcommand
    set -l cmd (__fish_cors_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c cors -n "__fish_cors_needs_command" -s h -l help -d 'Print help'
complete -c cors -n "__fish_cors_needs_command" -s V -l version -d 'Print version'
complete -c cors -n "__fish_cors_needs_command" -f -a "check" -d 'Send what a browser sends for one fetch() and say whether the page can read the answer, why not, and the fix'
complete -c cors -n "__fish_cors_needs_command" -f -a "audit" -d 'Probe your own API with crafted origins for the known CORS misconfigurations'
complete -c cors -n "__fish_cors_needs_command" -f -a "validate" -d 'Load a policy file (TOML or JSON) and print every problem, or the policy as the layer will apply it'
complete -c cors -n "__fish_cors_needs_command" -f -a "proxy" -d 'Run a CORS proxy in front of APIs that send no CORS headers (never an open proxy)'
complete -c cors -n "__fish_cors_needs_command" -f -a "healthcheck" -d 'Exit 0 when a running `cors proxy` answers on /_cors/healthz (for container health checks: the address comes from --listen or CORS_LISTEN)'
complete -c cors -n "__fish_cors_needs_command" -f -a "completions" -d 'Print the completion script for a shell to stdout'
complete -c cors -n "__fish_cors_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cors -n "__fish_cors_using_subcommand check" -l origin -d 'The page\'s origin, e.g. `https://app.example.com` (or `null`)' -r
complete -c cors -n "__fish_cors_using_subcommand check" -s X -l request -d 'The method (`fetch`\'s `method`)' -r
complete -c cors -n "__fish_cors_using_subcommand check" -s H -l header -d 'A header the script sets, as `Name: value` (repeatable)' -r
complete -c cors -n "__fish_cors_using_subcommand check" -l cookie -d 'Stands for the browser\'s cookie jar: `name=value`, sent on the actual request only when credentials are included (a script cannot set `Cookie`)' -r
complete -c cors -n "__fish_cors_using_subcommand check" -l cacert -d 'Also trust the certificates in this PEM file' -r -F
complete -c cors -n "__fish_cors_using_subcommand check" -l timeout -d 'Seconds to wait for each answer' -r
complete -c cors -n "__fish_cors_using_subcommand check" -l resolve -d 'Connect to ADDR (the first that answers) for HOST:PORT, still sending the URL\'s `Host` and TLS server name, as curl\'s `--resolve` does (repeatable; IPv6 ADDR in brackets)' -r
complete -c cors -n "__fish_cors_using_subcommand check" -l credentials -d 'Credentials mode `include` (default `same-origin`)'
complete -c cors -n "__fish_cors_using_subcommand check" -l json -d 'Print one JSON object instead of the transcript'
complete -c cors -n "__fish_cors_using_subcommand check" -s h -l help -d 'Print help'
complete -c cors -n "__fish_cors_using_subcommand check" -s V -l version -d 'Print version'
complete -c cors -n "__fish_cors_using_subcommand audit" -l origin -d 'An origin the API is meant to allow; the probes are built around it' -r
complete -c cors -n "__fish_cors_using_subcommand audit" -l cacert -d 'Also trust the certificates in this PEM file' -r -F
complete -c cors -n "__fish_cors_using_subcommand audit" -l timeout -d 'Seconds to wait for each answer' -r
complete -c cors -n "__fish_cors_using_subcommand audit" -l resolve -d 'Connect to ADDR (the first that answers) for HOST:PORT, still sending the URL\'s `Host` and TLS server name, as curl\'s `--resolve` does (repeatable; IPv6 ADDR in brackets)' -r
complete -c cors -n "__fish_cors_using_subcommand audit" -l json -d 'Print `{"findings": [...]}` instead of text'
complete -c cors -n "__fish_cors_using_subcommand audit" -s h -l help -d 'Print help'
complete -c cors -n "__fish_cors_using_subcommand audit" -s V -l version -d 'Print version'
complete -c cors -n "__fish_cors_using_subcommand validate" -l env -d 'Overlay environment variables named PREFIX + setting (`CORS_ALLOW_ORIGINS`…), as the service would at start-up (single-policy files only)' -r
complete -c cors -n "__fish_cors_using_subcommand validate" -s h -l help -d 'Print help'
complete -c cors -n "__fish_cors_using_subcommand validate" -s V -l version -d 'Print version'
complete -c cors -n "__fish_cors_using_subcommand proxy" -l config -d 'The proxy\'s configuration file (TOML)' -r -F
complete -c cors -n "__fish_cors_using_subcommand proxy" -l to -d 'One-line mode: forward every path to this upstream base URL' -r
complete -c cors -n "__fish_cors_using_subcommand proxy" -l allow-origin -d 'One-line mode: an origin the CORS policy allows (repeatable)' -r
complete -c cors -n "__fish_cors_using_subcommand proxy" -l allow-method -d 'One-line mode: a method the CORS policy allows (repeatable; default GET, HEAD, POST)' -r
complete -c cors -n "__fish_cors_using_subcommand proxy" -l allow-header -d 'One-line mode: a request header the CORS policy allows (repeatable)' -r
complete -c cors -n "__fish_cors_using_subcommand proxy" -l listen -d 'Address to listen on (default 127.0.0.1:8787, or the file\'s `listen`; the environment\'s CORS_LISTEN, when set, also overrides the file)' -r
complete -c cors -n "__fish_cors_using_subcommand proxy" -l log -d 'Log level: error, warn, info (request lines), debug, trace or off [default: RUST_LOG, else info]' -r -f -a "error\t'Errors only'
warn\t'Errors and warnings'
info\t'Warnings and the request lines'
debug\t'More detail'
trace\t'Everything'
off\t'Nothing but the start-up lines'"
complete -c cors -n "__fish_cors_using_subcommand proxy" -l log-flush -d 'Longest time a log line waits in the 64 KiB buffer (250ms, 2s, 1m); 0 writes each line at once' -r
complete -c cors -n "__fish_cors_using_subcommand proxy" -l log-file -d 'Append the log to FILE instead of writing it to stderr' -r -F
complete -c cors -n "__fish_cors_using_subcommand proxy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cors -n "__fish_cors_using_subcommand proxy" -s V -l version -d 'Print version'
complete -c cors -n "__fish_cors_using_subcommand healthcheck" -l listen -d 'The address `cors proxy` listens on' -r
complete -c cors -n "__fish_cors_using_subcommand healthcheck" -l url -d 'Probe this URL instead (for example the `[admin]` listener\'s `/_cors/healthz`)' -r
complete -c cors -n "__fish_cors_using_subcommand healthcheck" -l timeout -d 'Seconds to wait for the answer' -r
complete -c cors -n "__fish_cors_using_subcommand healthcheck" -s h -l help -d 'Print help'
complete -c cors -n "__fish_cors_using_subcommand healthcheck" -s V -l version -d 'Print version'
complete -c cors -n "__fish_cors_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cors -n "__fish_cors_using_subcommand completions" -s V -l version -d 'Print version'
complete -c cors -n "__fish_cors_using_subcommand help; and not __fish_seen_subcommand_from check audit validate proxy healthcheck completions help" -f -a "check" -d 'Send what a browser sends for one fetch() and say whether the page can read the answer, why not, and the fix'
complete -c cors -n "__fish_cors_using_subcommand help; and not __fish_seen_subcommand_from check audit validate proxy healthcheck completions help" -f -a "audit" -d 'Probe your own API with crafted origins for the known CORS misconfigurations'
complete -c cors -n "__fish_cors_using_subcommand help; and not __fish_seen_subcommand_from check audit validate proxy healthcheck completions help" -f -a "validate" -d 'Load a policy file (TOML or JSON) and print every problem, or the policy as the layer will apply it'
complete -c cors -n "__fish_cors_using_subcommand help; and not __fish_seen_subcommand_from check audit validate proxy healthcheck completions help" -f -a "proxy" -d 'Run a CORS proxy in front of APIs that send no CORS headers (never an open proxy)'
complete -c cors -n "__fish_cors_using_subcommand help; and not __fish_seen_subcommand_from check audit validate proxy healthcheck completions help" -f -a "healthcheck" -d 'Exit 0 when a running `cors proxy` answers on /_cors/healthz (for container health checks: the address comes from --listen or CORS_LISTEN)'
complete -c cors -n "__fish_cors_using_subcommand help; and not __fish_seen_subcommand_from check audit validate proxy healthcheck completions help" -f -a "completions" -d 'Print the completion script for a shell to stdout'
complete -c cors -n "__fish_cors_using_subcommand help; and not __fish_seen_subcommand_from check audit validate proxy healthcheck completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
