import FleetModel
import FleetTemplate
import Foundation
import Testing

struct LimitCase: Sendable, CustomTestStringConvertible {
    let template: String
    /// Words the error must contain (the limit's name).
    let limit: String
    var testDescription: String { template }
}

/// Templates that would take the hub's memory or cores stop with an error naming the limit, before
/// allocating what they ask for.
@Test(arguments: [
    LimitCase(template: #"{{ repeat 3000000000 "xx" }}"#, limit: "maxValueBytes"),
    LimitCase(template: #"{{ repeat 9223372036854775807 "xx" }}"#, limit: "maxValueBytes"),
    LimitCase(template: "{{ until 100000000 }}", limit: "maxValueBytes"),
    LimitCase(template: "{{ randAlphaNum 3000000000 }}", limit: "maxValueBytes"),
    LimitCase(template: "{{ untilStep 0 9223372036854775807 1 }}", limit: "maxValueBytes"),
    LimitCase(template: #"{{ $s := repeat 100000 "a " }}{{ wrapWith 1 (repeat 10000 "-") $s }}"#, limit: "maxValueBytes"),
    LimitCase(template: "{{ seq 1 100000000 }}", limit: "maxValueBytes"),
    LimitCase(template: "{{ seq -9223372036854775807 9223372036854775807 }}", limit: "maxValueBytes"),
    LimitCase(template: #"{{ indent 100000000 "a\nb" }}"#, limit: "maxValueBytes"),
    LimitCase(template: #"{{ $s := repeat 1000000 "a" }}{{ replace "a" (repeat 1000 "b") $s }}"#, limit: "maxValueBytes"),
    LimitCase(template: #"{{ $s := repeat 1000000 "a" }}{{ regexReplaceAll "a" $s "${0}${0}${0}${0}${0}${0}${0}${0}${0}${0}${0}${0}${0}${0}${0}${0}${0}${0}" }}"#, limit: "maxValueBytes"),
    LimitCase(template: #"{{ $l := list }}{{ range until 1000 }}{{ $l = append $l (repeat 1000 "x") }}{{ end }}{{ join (repeat 100000 "," ) $l }}"#, limit: "maxValueBytes"),
    LimitCase(template: "{{ range $i := until 100000 }}{{ range $j := until 100000 }}x{{ end }}{{ end }}", limit: "maxSteps"),
    LimitCase(template: "{{ range until 10000000 }}{{ end }}", limit: "maxSteps"),
    // Doubling a string: each step is cheap in count, but the values grow until a limit stops them.
    LimitCase(template: #"{{ $x := "ab" }}{{ range until 64 }}{{ $x = printf "%s%s" $x $x }}{{ end }}"#, limit: "max"),
    LimitCase(template: #"{{ range until 1000 }}{{ repeat 100000 "x" }}{{ end }}"#, limit: "maxOutputBytes"),
    // Values built deeper than maxDataDepth: by dict, list, append and set, and walked by serializers.
    LimitCase(template: #"{{ $x := dict }}{{ range until 200000 }}{{ $x = dict "a" $x }}{{ end }}{{ toJson $x }}"#, limit: "maxDataDepth"),
    LimitCase(template: #"{{ $x := list }}{{ range until 200000 }}{{ $x = list $x }}{{ end }}{{ toYaml $x }}"#, limit: "maxDataDepth"),
    LimitCase(template: #"{{ $x := list }}{{ range until 200000 }}{{ $x = append (list) $x }}{{ end }}"#, limit: "maxDataDepth"),
    LimitCase(template: #"{{ $x := dict }}{{ range until 200000 }}{{ $x = set (dict) "k" $x }}{{ end }}"#, limit: "maxDataDepth"),
    // A chain grown by setting keys of maps already nested: the walk of toJson/printing finds the depth.
    LimitCase(template: #"{{ $r := dict }}{{ $c := $r }}{{ range until 5000 }}{{ $n := dict }}{{ $_ := set $c "a" $n }}{{ $c = $n }}{{ end }}{{ toJson $r }}"#, limit: "maxDataDepth"),
    LimitCase(template: #"{{ $r := dict }}{{ $c := $r }}{{ range until 5000 }}{{ $n := dict }}{{ $_ := set $c "a" $n }}{{ $c = $n }}{{ end }}{{ $r }}"#, limit: "maxDataDepth"),
    LimitCase(template: #"{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ toPrettyJson $d }}"#, limit: "maxDataDepth"),
    LimitCase(template: #"{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ deepCopy $d }}"#, limit: "maxDataDepth"),
    // A list that shares itself: 2^60 leaves in 60 steps; serializing it is charged per item visited.
    LimitCase(template: #"{{ $x := list 1 }}{{ range until 60 }}{{ $x = list $x $x }}{{ end }}{{ toJson $x }}"#, limit: "maxSteps"),
    LimitCase(template: #"{{ $x := list 1 }}{{ range until 60 }}{{ $x = list $x $x }}{{ end }}{{ printf "%v" $x }}"#, limit: "maxSteps"),
    // Doubling with cat or printf is refused before the string is built.
    LimitCase(template: #"{{ $x := "abcdefgh" }}{{ range until 64 }}{{ $x = cat $x $x }}{{ end }}"#, limit: "maxValueBytes"),
])
func runawayTemplatesStop(_ c: LimitCase) throws {
    let template = try GoTemplate(c.template)
    do {
        // A fifth of the default step budget: the same limits are hit, at a fifth of the CPU.
        let out = try template.render(.object([]), limits: TemplateLimits(maxSteps: 2_000_000))
        Issue.record("rendered \(out.utf8.count) bytes instead of stopping")
    } catch let error as TemplateError {
        #expect(error.code == .limit, "\(error)")
        #expect(error.message.contains(c.limit), "\(error)")
    }
}

@Test func nestingDeeperThanTheLimitIsRefusedAtParse() throws {
    let deepIfs = String(repeating: "{{ if true }}", count: 150) + "x" + String(repeating: "{{ end }}", count: 150)
    #expect(throws: TemplateError.self) { try GoTemplate(deepIfs) }
    do { _ = try GoTemplate(deepIfs) } catch let e as TemplateError {
        #expect(e.code == .limit && e.message.contains("maxDepth"))
    }
    let deepParens = "{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}"
    do { _ = try GoTemplate(deepParens); Issue.record("parsed 5000 nested parentheses") } catch let e as TemplateError {
        #expect(e.code == .limit)
    }
    // Within the limit, nesting works.
    let fine = String(repeating: "{{ if true }}", count: 20) + "x" + String(repeating: "{{ end }}", count: 20)
    #expect(try GoTemplate(fine).render(.object([])) == "x")
}

@Test func limitsAreConfigurable() throws {
    let t = try GoTemplate(#"{{ repeat 100 "x" }}"#)
    #expect(try t.render(.object([])).count == 100)
    var small = TemplateLimits.default
    small.maxOutputBytes = 50
    #expect(throws: TemplateError.self) { try t.render(.object([]), limits: small) }
    small = .default
    small.maxSteps = 10
    #expect(throws: TemplateError.self) { try GoTemplate("{{ range until 100 }}x{{ end }}").render(.object([]), limits: small) }
}

@Test func aPassedDeadlineOrACancelledCallerStopsTheRender() throws {
    let slow = try GoTemplate("{{ range $i := until 10000 }}{{ range $j := until 10000 }}{{ end }}{{ end }}")
    var limits = TemplateLimits(maxSteps: .max)
    limits.deadline = .now - .seconds(1)
    do { _ = try slow.render(.object([]), limits: limits); Issue.record("ran past its deadline") } catch let e as TemplateError {
        #expect(e.code == .cancelled)
    }
    limits.deadline = nil
    limits.isCancelled = { true }
    do { _ = try slow.render(.object([]), limits: limits); Issue.record("ran after cancellation") } catch let e as TemplateError {
        #expect(e.code == .cancelled)
    }
}

@Test func printfRefusesHugeWidthsAsGoDoes() throws {
    #expect(try GoTemplate(#"{{ printf "%999999999d" 1 }}"#).render(.object([])) == "%!(BADWIDTH)1")
    #expect(try GoTemplate(#"{{ printf "%.99999999999f" 1.5 }}"#).render(.object([])).hasPrefix("%!(BADPREC)"))
    #expect(try GoTemplate(#"{{ printf "%05d" 42 }}"#).render(.object([])) == "00042")
}

@Test func ordinaryTemplatesStayWellInsideTheDefaults() throws {
    let t = try GoTemplate(#"{{ range $i := until 200 }}{{ $i }}-{{ repeat 10 "x" | upper }}{{ indent 2 "a\nb" }}{{ end }}"#)
    let out = try t.render(.object([]))
    #expect(out.hasPrefix("0-XXXXXXXXXX  a\n  b1-"))
}

/// A chain of maps 300,000 levels deep (grown with `set`, which the recorded depth cannot follow; freed
/// recursively it would need some 100 MB of stack) is built within the step budget and freed without taking
/// the thread's stack.
@Test func deepChainsAreFreedWithoutRecursion() throws {
    let template = try GoTemplate(#"{{ $r := dict }}{{ $c := $r }}{{ range until 300000 }}{{ $n := dict }}{{ $_ := set $c "a" $n }}{{ $c = $n }}{{ end }}done"#)
    #expect(try template.render(.object([]), limits: TemplateLimits(maxSteps: 20_000_000)) == "done")
}

/// A deadline stops a render inside a serializer, not only between template nodes.
@Test func theDeadlineStopsASerializer() throws {
    let template = try GoTemplate(#"{{ $x := list 1 }}{{ range until 60 }}{{ $x = list $x $x }}{{ end }}{{ toJson $x }}"#)
    var limits = TemplateLimits(maxSteps: Int.max / 2)
    limits.deadline = .now + .milliseconds(300)
    let started = ContinuousClock.now
    #expect { try template.render(.object([]), limits: limits) } throws: { ($0 as? TemplateError)?.code == .cancelled }
    #expect(ContinuousClock.now - started < .seconds(10))
}
