import Testing
import SluiceTestSupport
@testable import PluginHostKit

/// Timestamps as `read` writes them (`YYYY-MM-DDTHH:MM:SS.ffffff`, `Z` after a zoned one) are
/// read at fixed positions, every other spelling by the scanner: both must agree.
@Suite("plugin-host JSON Lines: timestamps read at fixed positions")
struct TemporalTextTests {
    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    @Test("the fixed-position reading agrees with the scanner's, valid or not")
    func canonicalAgreesWithScanner() {
        var random = SplitMix64(state: 29)
        var accepted = 0, refused = 0
        for _ in 0 ..< 20_000 {
            // Fields drawn around their limits (month 13, day 32, hour 24, minute and second 60).
            let date = "\(Self.pad(Int.random(in: 0 ... 9999, using: &random), 4))-\(Self.pad(Int.random(in: 0 ... 13, using: &random), 2))-"
                + Self.pad(Int.random(in: 0 ... 32, using: &random), 2)
            let time = "\(Self.pad(Int.random(in: 22 ... 25, using: &random), 2)):\(Self.pad(Int.random(in: 0 ... 60, using: &random), 2)):"
                + "\(Self.pad(Int.random(in: 0 ... 60, using: &random), 2)).\(Self.pad(Int.random(in: 0 ... 999_999, using: &random) / (Bool.random(using: &random) ? 1 : 1_000_000), 6))"
            for zoned in [false, true] {
                var text = Array((date + "T" + time + (zoned ? "Z" : "")).utf8)
                // One byte in ten texts replaced by a digit or a separator (the `T` kept).
                if Int.random(in: 0 ..< 10, using: &random) == 0 {
                    let position = [Int](0 ..< text.count).filter { $0 != 10 }.randomElement(using: &random) ?? 0
                    text[position] = Array("0189-:.TZ +".utf8).randomElement(using: &random) ?? 0
                }
                let canonical = TemporalText.parseTimestamp(text.span, zoned: zoned)
                // A space instead of `T`: the same instant, read by the scanner.
                text[10] = UInt8(ascii: " ")
                let scanned = TemporalText.parseTimestamp(text.span, zoned: zoned)
                #expect(canonical == scanned, "\(String(decoding: text, as: UTF8.self)) zoned \(zoned)")
                if canonical == nil { refused += 1 } else { accepted += 1 }
            }
        }
        #expect(accepted > 5_000 && refused > 5_000)
    }

    @Test("limits of the fixed-position reading")
    func limits() {
        let leapDay = TemporalText.parseTimestamp("2024-02-29T00:00:00.000000Z", zoned: true)
        #expect(leapDay == 1_709_164_800_000_000)
        #expect(TemporalText.parseTimestamp("2024-02-28T24:00:00.000000Z", zoned: true) == leapDay)
        #expect(TemporalText.parseTimestamp("2023-02-29T00:00:00.000000Z", zoned: true) == nil)
        #expect(TemporalText.parseTimestamp("2024-01-01T24:00:00.000001Z", zoned: true) == nil)
        #expect(TemporalText.parseTimestamp("2024-01-01T23:59:60.000000Z", zoned: true) == nil)
        // `Z` is for zoned timestamps only; a plain timestamp has no zone.
        #expect(TemporalText.parseTimestamp("2024-01-01T00:00:00.000000Z", zoned: false) == nil)
        #expect(TemporalText.parseTimestamp("2024-01-01T00:00:00.000000", zoned: false) == 1_704_067_200_000_000)
        #expect(TemporalText.parseTimestamp("0000-01-01T00:00:00.000000", zoned: false) == -62_167_219_200_000_000)
        #expect(TemporalText.parseTimestamp("2024-01-01T00:00:0x.000000", zoned: false) == nil)
    }
}
