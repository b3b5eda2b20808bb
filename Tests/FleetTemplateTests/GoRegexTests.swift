import FleetModel
import FleetTemplate
import Foundation
import Testing

/// Sprig's regex functions with Go's regexp semantics (RE2 syntax, leftmost-first, Go's rules for empty matches),
/// as documented for package regexp.
@Test(arguments: [
    GoCase(template: #"{{ regexFind "[a-z]+" "123abc456def" }}"#, expected: "abc"),
    GoCase(template: #"{{ regexFindAll "[2,4,6,8]" "123456789" -1 }}"#, expected: "[2 4 6 8]"),
    GoCase(template: #"{{ regexFindAll "[2,4,6,8]" "123456789" 2 }}"#, expected: "[2 4]"),
    GoCase(template: #"{{ regexMatch "^[a-z]+\\[[0-9]+\\]$" "adam[23]" }}"#, expected: "true"),
    GoCase(template: #"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}"#, expected: "-W-xxW-"),
    GoCase(template: #"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}"#, expected: "---"),
    GoCase(template: #"{{ regexReplaceAll "a(?P<x>x*)b" "-ab-axxb-" "<${x}>" }}"#, expected: "-<>-<xx>-"),
    GoCase(template: #"{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}"#, expected: "-${1}-${1}-"),
    GoCase(template: #"{{ regexReplaceAll "x*" "abc" "-" }}"#, expected: "-a-b-c-"),
    GoCase(template: #"{{ regexSplit "z+" "pizza" -1 }}"#, expected: "[pi a]"),
    GoCase(template: #"{{ regexSplit "z+" "pizza" 1 }}"#, expected: "[pizza]"),
    GoCase(template: #"{{ regexSplit "a*" "abaabaccadaaae" 5 }}"#, expected: "[ b b c cadaaae]"),
    GoCase(template: #"{{ regexFind "a|ab" "ab" }}"#, expected: "a"),
    GoCase(template: #"{{ regexFind "(a|ab)(c|bcd)" "abcd" }}"#, expected: "abcd"),
    GoCase(template: #"{{ regexFind "a+?" "aaa" }}"#, expected: "a"),
    GoCase(template: #"{{ regexFind "(?i)HELLO" "say hello" }}"#, expected: "hello"),
    GoCase(template: #"{{ regexFindAll "\\bfoo\\b" "foo food foo" -1 }}"#, expected: "[foo foo]"),
    GoCase(template: #"{{ regexFind "[[:digit:]]{2,3}" "a12345" }}"#, expected: "123"),
    GoCase(template: #"{{ regexFind "\\p{Lu}+" "abcÄÖÜdef" }}"#, expected: "ÄÖÜ"),
    GoCase(template: #"{{ regexMatch "(?m)^b$" "a\nb\nc" }}"#, expected: "true"),
    GoCase(template: #"{{ regexMatch "^b$" "a\nb\nc" }}"#, expected: "false"),
    GoCase(template: #"{{ regexFind "a.c" "a\nc abc" }}"#, expected: "abc"),
    GoCase(template: #"{{ regexFind "(?s)a.c" "a\nc abc" }}"#, expected: "a\nc"),
    GoCase(template: #"{{ regexReplaceAll "\\s+" "a  b \t c" " " }}"#, expected: "a b c"),
    GoCase(template: #"{{ regexFind "x{2}y{1,}" "xxxyy" }}"#, expected: "xxyy"),
    GoCase(template: #"{{ regexFind "a{,2}" "a{,2}" }}"#, expected: "a{,2}"),
])
func goRegexSemantics(_ c: GoCase) throws {
    #expect(try GoTemplate(c.template).render(.object([])) == c.expected)
}

/// RE2 refuses what it cannot match in linear time (backreferences) and malformed patterns.
@Test(arguments: [#"{{ regexFind "(" "x" }}"#, #"{{ regexFind "(a)\\1" "aa" }}"#, #"{{ regexFind "a**" "a" }}"#, #"{{ regexFind "x{1001}" "x" }}"#])
func badPatternsAreErrors(_ template: String) throws {
    #expect(throws: TemplateError.self) { try GoTemplate(template).render(.object([])) }
}

/// Patterns that make a backtracking engine run for hours finish at once: matching is linear in the input.
@Test func catastrophicPatternsAreLinear() throws {
    let input = String(repeating: "a", count: 5000) + "!"
    let started = Date()
    for pattern in ["^(a+)+$", "^(a|a)*$", "(a*)*b", "^(a|aa)+$", "^(.*a){20}$"] {
        let t = try GoTemplate(#"{{ regexMatch "\#(pattern)" .s }}"#)
        #expect(try t.render(.object([("s", .string(input))])) == "false", "\(pattern)")
    }
    // A generous bound that only exponential behaviour can break (each of these is milliseconds).
    #expect(Date().timeIntervalSince(started) < 30)
}
