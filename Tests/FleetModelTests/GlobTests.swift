import Foundation
import Testing
@testable import FleetModel

/// Go's own `path.Match` table (path/match_test.go); a malformed pattern matches nothing.
private let goPathMatch: [(pattern: String, name: String, match: Bool)] = [
    ("abc", "abc", true), ("*", "abc", true), ("*c", "abc", true), ("a*", "a", true), ("a*", "abc", true),
    ("a*", "ab/c", false), ("a*/b", "abc/b", true), ("a*/b", "a/c/b", false),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", true), ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false), ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
    ("a*b?c*x", "abxbbxdbxebxczzx", true), ("a*b?c*x", "abxbbxdbxebxczzy", false),
    ("ab[c]", "abc", true), ("ab[b-d]", "abc", true), ("ab[e-g]", "abc", false), ("ab[^c]", "abc", false),
    ("ab[^b-d]", "abc", false), ("ab[^e-g]", "abc", true), ("a\\*b", "a*b", true), ("a\\*b", "ab", false),
    ("a?b", "a☺b", true), ("a[^a]b", "a☺b", true), ("a???b", "a☺b", false), ("a[^a][^a][^a]b", "a☺b", false),
    ("[a-ζ]*", "α", true), ("*[a-ζ]", "A", false), ("a?b", "a/b", false), ("a*b", "a/b", false),
    ("[\\]a]", "]", true), ("[\\-]", "-", true), ("[x\\-]", "x", true), ("[x\\-]", "-", true), ("[x\\-]", "z", false),
    ("[\\-x]", "x", true), ("[\\-x]", "-", true), ("[\\-x]", "a", false),
    ("[]a]", "]", false), ("[-]", "-", false), ("[x-]", "x", false), ("[x-]", "-", false), ("[x-]", "z", false),
    ("[-x]", "x", false), ("[-x]", "-", false), ("[-x]", "a", false), ("\\", "a", false), ("[a-b-c]", "a", false),
    ("[", "a", false), ("[^", "a", false), ("[^bc", "a", false), ("a[", "a", false), ("a[", "ab", false),
    ("a[", "x", false), ("a/b[", "x", false), ("*x", "xxx", true),
]

@Test(arguments: goPathMatch.indices)
func pathMatchAsGo(_ index: Int) {
    let row = goPathMatch[index]
    #expect(Glob.pathMatch(row.pattern, row.name) == row.match, "\(row.pattern) ~ \(row.name)")
}

private let doublestar: [(pattern: String, path: String, match: Bool)] = [
    ("apps/**/config.json", "apps/config.json", true), ("apps/**/config.json", "apps/a/b/c/config.json", true),
    ("apps/**/config.json", "other/a/config.json", false), ("**", "a/b/c", true), ("**/*.yaml", "x.yaml", true),
    ("**/*.yaml", "a/b/x.yml", false), ("a/**/b/**/c", "a/x/b/y/z/c", true), ("a/**/b/**/c", "a/x/y/z/c", false),
    ("{apps,infra}/*/values.yaml", "infra/db/values.yaml", true), ("{apps,infra}/*/values.yaml", "ops/db/values.yaml", false),
    ("apps/*", "apps/a/b", false),
]

@Test(arguments: doublestar.indices)
func doublestarSegments(_ index: Int) {
    let row = doublestar[index]
    #expect(Glob.doublestarMatch(row.pattern, row.path) == row.match, "\(row.pattern) ~ \(row.path)")
}

private let anywhere: [(pattern: String, path: String, match: Bool)] = [
    ("*.yaml", "a/b/c.yaml", true), ("*.yaml", "c.json", false), ("a?c", "a/c", true), ("{*.yaml,*.json}", "x/y.json", true),
    ("config/*", "config/a/b", true), ("[!x]*", "abc", true), ("[!a]*", "abc", false),
]

@Test(arguments: anywhere.indices)
func directoryIncludeMatchesAcrossSlashes(_ index: Int) {
    let row = anywhere[index]
    #expect(Glob.anyMatch(row.pattern, row.path) == row.match, "\(row.pattern) ~ \(row.path)")
}

/// Many stars or `**` segments against a long subject cost polynomial time, not exponential: the fuzzer's
/// input (a 15-byte glob with five stars against a 110-byte path took seconds when every split was tried).
@Test func manyStarsDoNotBacktrackExponentially() throws {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzInputs/glob-many-stars")
    let bytes = try Data(contentsOf: file)
    let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    let pattern = String(decoding: parts[0], as: UTF8.self), subject = String(decoding: parts.count > 1 ? parts[1] : Data(), as: UTF8.self)
    let clock = ContinuousClock()
    let took = clock.measure {
        _ = Glob.pathMatch(pattern, subject)
        _ = Glob.doublestarMatch(pattern, subject)
        _ = Glob.anyMatch(pattern, subject)
        // Worst cases by construction: 40 stars against 4,000 characters, 30 `**` segments against 300 segments.
        #expect(!Glob.anyMatch(String(repeating: "*a", count: 40) + "b", String(repeating: "a", count: 4000)))
        #expect(!Glob.doublestarMatch(String(repeating: "**/", count: 30) + "x", String(repeating: "a/", count: 300) + "y"))
    }
    // Exponential backtracking takes minutes to years here; the linear algorithm well under a second in a debug build.
    #expect(took < .seconds(10))
}

@Test func braceAlternativesAreBounded() {
    #expect(Glob.expandBraces("{a,b}/{c,d}").sorted() == ["a/c", "a/d", "b/c", "b/d"])
    // 2^40 alternatives would never finish: past the bound the pattern matches nothing.
    let bomb = String(repeating: "{a,b}", count: 40)
    #expect(Glob.expandBraces(bomb).isEmpty)
    #expect(!Glob.doublestarMatch(bomb, String(repeating: "a", count: 40)))
}
