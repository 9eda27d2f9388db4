
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cors' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cors'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'cors' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Send what a browser sends for one fetch() and say whether the page can read the answer, why not, and the fix')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Probe your own API with crafted origins for the known CORS misconfigurations')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Load a policy file (TOML or JSON) and print every problem, or the policy as the layer will apply it')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run a CORS proxy in front of APIs that send no CORS headers (never an open proxy)')
            [CompletionResult]::new('healthcheck', 'healthcheck', [CompletionResultType]::ParameterValue, 'Exit 0 when a running `cors proxy` answers on /_cors/healthz (for container health checks: the address comes from --listen or CORS_LISTEN)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for a shell to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cors;check' {
            [CompletionResult]::new('--origin', '--origin', [CompletionResultType]::ParameterName, 'The page''s origin, e.g. `https://app.example.com` (or `null`)')
            [CompletionResult]::new('-X', '-X ', [CompletionResultType]::ParameterName, 'The method (`fetch`''s `method`)')
            [CompletionResult]::new('--request', '--request', [CompletionResultType]::ParameterName, 'The method (`fetch`''s `method`)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'A header the script sets, as `Name: value` (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'A header the script sets, as `Name: value` (repeatable)')
            [CompletionResult]::new('--cookie', '--cookie', [CompletionResultType]::ParameterName, 'Stands for the browser''s cookie jar: `name=value`, sent on the actual request only when credentials are included (a script cannot set `Cookie`)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificates in this PEM file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for each answer')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR (the first that answers) for HOST:PORT, still sending the URL''s `Host` and TLS server name, as curl''s `--resolve` does (repeatable; IPv6 ADDR in brackets)')
            [CompletionResult]::new('--credentials', '--credentials', [CompletionResultType]::ParameterName, 'Credentials mode `include` (default `same-origin`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of the transcript')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cors;audit' {
            [CompletionResult]::new('--origin', '--origin', [CompletionResultType]::ParameterName, 'An origin the API is meant to allow; the probes are built around it')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificates in this PEM file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for each answer')
            [CompletionResult]::new('--resolve', '--resolve', [CompletionResultType]::ParameterName, 'Connect to ADDR (the first that answers) for HOST:PORT, still sending the URL''s `Host` and TLS server name, as curl''s `--resolve` does (repeatable; IPv6 ADDR in brackets)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print `{"findings": [...]}` instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cors;validate' {
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Overlay environment variables named PREFIX + setting (`CORS_ALLOW_ORIGINS`…), as the service would at start-up (single-policy files only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cors;proxy' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The proxy''s configuration file (TOML)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'One-line mode: forward every path to this upstream base URL')
            [CompletionResult]::new('--allow-origin', '--allow-origin', [CompletionResultType]::ParameterName, 'One-line mode: an origin the CORS policy allows (repeatable)')
            [CompletionResult]::new('--allow-method', '--allow-method', [CompletionResultType]::ParameterName, 'One-line mode: a method the CORS policy allows (repeatable; default GET, HEAD, POST)')
            [CompletionResult]::new('--allow-header', '--allow-header', [CompletionResultType]::ParameterName, 'One-line mode: a request header the CORS policy allows (repeatable)')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (default 127.0.0.1:8787, or the file''s `listen`; the environment''s CORS_LISTEN, when set, also overrides the file)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Log level: error, warn, info (request lines), debug, trace or off [default: RUST_LOG, else info]')
            [CompletionResult]::new('--log-flush', '--log-flush', [CompletionResultType]::ParameterName, 'Longest time a log line waits in the 64 KiB buffer (250ms, 2s, 1m); 0 writes each line at once')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Append the log to FILE instead of writing it to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cors;healthcheck' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'The address `cors proxy` listens on')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Probe this URL instead (for example the `[admin]` listener''s `/_cors/healthz`)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the answer')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cors;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cors;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Send what a browser sends for one fetch() and say whether the page can read the answer, why not, and the fix')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Probe your own API with crafted origins for the known CORS misconfigurations')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Load a policy file (TOML or JSON) and print every problem, or the policy as the layer will apply it')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run a CORS proxy in front of APIs that send no CORS headers (never an open proxy)')
            [CompletionResult]::new('healthcheck', 'healthcheck', [CompletionResultType]::ParameterValue, 'Exit 0 when a running `cors proxy` answers on /_cors/healthz (for container health checks: the address comes from --listen or CORS_LISTEN)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for a shell to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cors;help;check' {
            break
        }
        'cors;help;audit' {
            break
        }
        'cors;help;validate' {
            break
        }
        'cors;help;proxy' {
            break
        }
        'cors;help;healthcheck' {
            break
        }
        'cors;help;completions' {
            break
        }
        'cors;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
