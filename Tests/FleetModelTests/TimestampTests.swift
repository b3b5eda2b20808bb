import FleetModel
import Foundation
import Testing

@Test(arguments: [0.0, 1_796_249_646.0, 1_796_249_646.123, 951_782_400.5])
func timestampsReadBackWhatIsWritten(seconds: Double) {
    let date = Date(timeIntervalSince1970: seconds)
    #expect(Timestamp.seconds(Timestamp.rfc3339(date)) == seconds.rounded(.down))
    let withMillis = Timestamp.seconds(Timestamp.rfc3339(date, milliseconds: true)) ?? -1
    #expect(abs(withMillis - seconds) < 0.001)
}

@Test func timestampsRefuseOtherShapes() {
    for text in ["", "2026-12-02", "2026-12-02T10:00:00", "2026-12-02T10:00:00+01:00", "2026/12/02T10:00:00Z", "20x6-12-02T10:00:00Z"] {
        #expect(Timestamp.seconds(text) == nil, "\(text)")
    }
}
