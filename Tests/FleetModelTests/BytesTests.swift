import FleetModel
import Testing

@Test(arguments: [
    ([] as [UInt8], ""),
    ([0x00, 0x0f, 0x10, 0xff], "000f10ff"),
    ([0xde, 0xad, 0xbe, 0xef], "deadbeef"),
])
func hexIsTwoLowerCaseDigitsAByte(bytes: [UInt8], hex: String) {
    #expect(Bytes.hex(bytes) == hex)
}

@Test func randomHexHasTheLengthAskedAndVaries() {
    let a = Bytes.randomHex(16), b = Bytes.randomHex(16)
    #expect(a.count == 32 && b.count == 32)
    #expect(a != b)
    #expect(a.allSatisfy { $0.isHexDigit && !$0.isUppercase })
}

@Test(arguments: [
    ("secret", "secret", true),
    ("secret", "secreT", false),
    ("secret", "secre", false),
    ("", "", true),
])
func constantTimeEqualComparesWholeInputs(a: String, b: String, equal: Bool) {
    #expect(Bytes.constantTimeEqual(Array(a.utf8), Array(b.utf8)) == equal)
}
