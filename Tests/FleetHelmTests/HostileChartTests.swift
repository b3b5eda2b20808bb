import FleetHelm
import FleetModel
import FleetTemplate
import Foundation
import Testing

/// Charts a team may commit (or a read-only account preview) that would crash or stall a renderer without
/// bounds: each stops with an error naming the limit, and the process lives on.
@Suite struct HostileChartTests {
    static let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"

    @Test(arguments: [
        // A define that includes itself: Helm stops at 1,000 nested includes; so do we, without a crash.
        ("{{- define \"loop\" }}{{ include \"loop\" . }}{{ end }}" + HostileChartTests.cm + "data: {a: {{ include \"loop\" . | quote }}}\n", "maxDepth"),
        ("{{- define \"loop\" }}{{ tpl \"{{ include \\\"loop\\\" . }}\" . }}{{ end }}" + HostileChartTests.cm + "data: {a: {{ include \"loop\" . | quote }}}\n", "maxDepth"),
        ("{{- define \"loop\" }}{{ template \"loop\" . }}{{ end }}" + HostileChartTests.cm + "data: {a: {{ include \"loop\" . | quote }}}\n", "maxDepth"),
        // Data 200,000 levels deep, serialized.
        ("{{- $x := dict }}{{ range until 200000 }}{{ $x = dict \"a\" $x }}{{ end }}" + HostileChartTests.cm + "data: {a: {{ toJson $x | quote }}}\n", "maxDataDepth"),
        ("{{- $x := list }}{{ range until 200000 }}{{ $x = list $x }}{{ end }}" + HostileChartTests.cm + "data: {a: {{ toYaml $x | quote }}}\n", "maxDataDepth"),
        // Memory: a string doubled with printf.
        ("{{- $x := \"aaaaaaaa\" }}{{ range until 64 }}{{ $x = printf \"%s%s\" $x $x }}{{ end }}" + HostileChartTests.cm + "data: {a: {{ $x | quote }}}\n", "maxValueBytes"),
    ])
    func stopsWithTheLimitNamed(_ template: String, _ limit: String) throws {
        let c = try chart([chartYAML, ("templates/cm.yaml", template)])
        #expect { try render(c) } throws: { "\($0)".contains(limit) }
    }

    /// 999 nested includes are legal, as in Helm, whatever the caller's stack.
    @Test func deepLegalIncludesRender() throws {
        let c = try chart([chartYAML, ("templates/cm.yaml", "{{- define \"n\" }}{{ if gt . 0 }}{{ include \"n\" (sub . 1) }}{{ end }}{{ end }}"
                                       + Self.cm + "data: {a: \"{{ include \"n\" 998 }}\"}\n")])
        #expect(try render(c).first?.value(at: ["data", "a"])?.stringValue == "")
    }

    /// The render's deadline and cancellation reach a chart render.
    @Test func aDeadlineStopsAChart() throws {
        let c = try chart([chartYAML, ("templates/cm.yaml", "{{- $x := list 1 }}{{ range until 60 }}{{ $x = list $x $x }}{{ end }}"
                                       + Self.cm + "data: {a: {{ toJson $x | quote }}}\n")])
        var options = HelmRenderOptions()
        options.limits.maxSteps = Int.max / 2
        options.limits.deadline = .now + .milliseconds(300)
        let started = ContinuousClock.now
        #expect { try render(c, options) } throws: { "\($0)".contains("deadline") }
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
