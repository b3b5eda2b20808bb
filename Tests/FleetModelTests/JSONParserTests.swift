import FleetModel
import Foundation
import Testing

/// Objects with many keys parse and merge in time linear in the key count (a ConfigMap with 200,000 entries used
/// to take minutes: every key was compared with every earlier one). Duplicate keys keep the last value, in the
/// place of the first, as before.
@Test func manyKeysParseAndMergeLinearly() throws {
    let count = 200_000
    var text = "{"
    for i in 0..<count { text += "\"k\(i)\": \(i)," }
    text += "\"k7\": -7}"
    let value = try JSONParser.parse(text)
    let pairs = try #require(value.objectValue)
    #expect(pairs.count == count)
    #expect(pairs[7].0 == "k7" && pairs[7].1 == .int(-7))
    #expect(pairs.last?.0 == "k\(count - 1)")

    // A merge patch over as many keys: every value replaced, one deleted, one added.
    var patch: [(String, JSONValue)] = (0..<count).map { ("k\($0)", .int($0 + 1)) }
    patch[3].1 = .null
    patch.append(("new", .string("x")))
    let merged = value.merging(patch: .object(patch))
    let out = try #require(merged.objectValue)
    #expect(out.count == count)
    #expect(merged["k3"] == nil && merged["k4"] == .int(5) && merged["new"] == .string("x"))
    #expect(out.first?.0 == "k0" && out.last?.0 == "new")

    // A deep merge over as many keys keeps the order and fills in the new ones.
    let deep = value.deepMerged(with: .object([("k0", .int(100)), ("extra", .int(1))]), conflict: .override)
    #expect(deep.objectValue?.count == count + 1 && deep["k0"] == .int(100))
}

/// Numbers follow RFC 8259's grammar, as Go's decoder reads them: what it refuses is refused, naming the offset;
/// a number too large for a float64 is out of range (it would print back as `null`: found by `.ci/fuzz json`,
/// whose input is the first bad case).
@Test(arguments: ["888888888888E888388", "-1e999", "01", "-", "1.", ".5", "1e", "1e+", "+1", "--1", "1.2.3", "0x10", "1-2"])
func invalidNumbersAreRefused(text: String) {
    #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(text) }
}

@Test(arguments: [("0", JSONValue.int(0)), ("-0", .int(0)), ("10", .int(10)), ("-12", .int(-12)), ("1.5", .double(1.5)), ("1e3", .double(1000)),
                  ("2E-2", .double(0.02)), ("-0.0", .double(-0.0)), ("1e308", .double(1e308)), ("99999999999999999999", .double(1e20))])
func validNumbersParse(text: String, value: JSONValue) throws {
    #expect(try JSONParser.parse(text) == value)
    #expect(try JSONParser.parse("[\(text)]") == .array([value]))
}

/// `\u` escapes: surrogate pairs make one character; an unpaired half is U+FFFD (as Go decodes it) and an escape
/// after an unpaired high surrogate is read on its own. A high surrogate followed by another escape used to
/// overflow and crash the process — any JSON body could carry it (found by `.ci/fuzz json`; its input is
/// `FuzzInputs/json-unpaired-surrogate`).
@Test(arguments: [
    (#""\ud83d\ude00""#, "😀"), (#""\uD83D\uDE00x""#, "😀x"), (#""\ud8fd\u0041""#, "\u{FFFD}A"), (#""\ud8fd\ud8fd""#, "\u{FFFD}\u{FFFD}"),
    (#""\ud8fd\ud83d\ude00""#, "\u{FFFD}😀"), (#""\ude00""#, "\u{FFFD}"), (#""\ud83dx""#, "\u{FFFD}x"), (#""\u00e9\u0000""#, "é\u{0}"),
])
func unicodeEscapes(text: String, decoded: String) throws {
    #expect(try JSONParser.parse(text) == .string(decoded))
}

@Test(arguments: [#""\u12""#, #""\u+123""#, #""\u12G4""#, #""\ud83d\u12""#])
func malformedUnicodeEscapesAreRefused(text: String) {
    #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(text) }
}

@Test func theFuzzedSurrogateInputParsesWithoutCrashing() throws {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzInputs/json-unpaired-surrogate")
    let text = String(decoding: try Data(contentsOf: file), as: UTF8.self)
    #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(text) }   // it is not JSON; it must not crash
    #expect(try JSONParser.parse(#""\uD8fe\uD8fd\u0041""#) == .string("\u{FFFD}\u{FFFD}A"))
}
