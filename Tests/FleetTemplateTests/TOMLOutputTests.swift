import FleetModel
import FleetTemplate
import Testing

/// Helm's `toToml` and `mustToToml`, as BurntSushi/toml's encoder writes: keys sorted, plain keys before
/// tables, nested tables indented, arrays of tables, floats with a decimal point, nil values left out.
@Test(arguments: [
    (#"{{ toToml (dict "b" 2 "a" "x") }}"#, "a = \"x\"\nb = 2\n"),
    (#"{{ toToml (dict "replicas" 3.0 "ratio" 0.25 "big" 1e21) }}"#, "big = 1000000000000000000000.0\nratio = 0.25\nreplicas = 3.0\n"),
    (#"{{ toToml (dict "name" "web" "image" (dict "tag" "v1" "repo" (dict "host" "r.io")) "z" true) }}"#,
     "name = \"web\"\nz = true\n\n[image]\n  tag = \"v1\"\n  [image.repo]\n    host = \"r.io\"\n"),
    (#"{{ toToml (dict "ports" (list 80 443) "hosts" (list (dict "n" "a") (dict "n" "b"))) }}"#,
     "ports = [80, 443]\n\n[[hosts]]\n  n = \"a\"\n\n[[hosts]]\n  n = \"b\"\n"),
    (#"{{ toToml (dict "nested" (list (list (dict "a" 1 "b" "x")))) }}"#, "nested = [[{a = 1, b = \"x\"}]]\n"),
    (#"{{ toToml (dict "gone" nil "kept" "q\"\\\n") }}"#, "kept = \"q\\\"\\\\\\n\"\n"),
    (#"{{ toToml (dict "a.b" 1 "" 2) }}"#, "\"\" = 2\n\"a.b\" = 1\n"),
    (#"{{ toToml (dict "l" (list 1 nil)) }}"#, "toml: cannot encode array with nil element"),
    (#"{{ toToml 1 }}"#, "toml: top-level values must be Go maps or structs"),
    (#"{{ toToml (dict) }}"#, ""),
    (#"{{ mustToToml (dict "k" "v") }}"#, "k = \"v\"\n"),
])
func toToml(_ template: String, _ expected: String) throws {
    #expect(try GoTemplate(template, functions: .helm).render(.object([])) == expected)
}

@Test func mustToTomlFailsTheRender() {
    #expect {
        try GoTemplate(#"{{ mustToToml (dict "l" (list 1 nil)) }}"#, functions: .helm).render(.object([]))
    } throws: { "\($0)".contains("error calling mustToToml: toml: cannot encode array with nil element") }
}
