import XCTest
@testable import PostgresPlugin
import SluiceWire

/// What fuzzing found in the PostgreSQL value codecs (Tests/Fuzz, scripts/fuzz.sh), each kept
/// here as a plain test besides its committed regression input.
final class FuzzFindingsTests: XCTestCase {
    private static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]

    private func decode(_ decodings: [FieldDecoding], _ chunk: [UInt8]) throws(CopyFormatError) {
        let decoder = CopyBatchDecoder(decodings: decodings, extraFields: 0, keyFields: [], maxFrameSize: 1 << 20)
        var position = 0
        while position < chunk.count && !decoder.ended {
            position = try decoder.decode(chunk, from: position, maxRows: 100, maxBytes: 1 << 20)
        }
    }

    /// A fixed-width field shorter than its type (here the last bytes of the chunk) was read
    /// past its end: an index-out-of-range trap.
    func testShortFixedWidthFieldIsAFormatError() {
        for (decoding, size) in [(FieldDecoding.bool, 1), (.int64, 8), (.interval, 16), (.uuid, 16), (.timetz, 12)] {
            let chunk = Self.header + [0, 1] + [0, 0, 0, UInt8(size - 1)] + [UInt8](repeating: 7, count: size - 1)
            XCTAssertThrowsError(try decode([decoding], chunk), "\(decoding)") { error in
                XCTAssertTrue((error as? CopyFormatError)?.message.contains("expected \(size)") == true, "\(error)")
            }
        }
        let array: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 5]
        XCTAssertThrowsError(try decode([.array(.int32)], Self.header + [0, 1, 0, 0, 0, UInt8(array.count)] + array))
    }

    /// A chunk ending one byte into a row made the Read's decode loop spin for ever.
    func testLoneByteAfterTheRowsIsAFormatError() {
        XCTAssertThrowsError(try decode([.int32], Self.header + [0]))
        XCTAssertThrowsError(try decode([.int32], Self.header + [0, 1, 0, 0, 0, 4, 0, 0, 0, 9, 0]))
        XCTAssertThrowsError(try decode([.int32], Array(Self.header.prefix(15)) + [0, 0, 0, 9, 1]), "an extension past the chunk")
        XCTAssertNoThrow(try decode([.int32], Self.header + [0, 1, 0, 0, 0, 4, 0, 0, 0, 9, 0xFF, 0xFF]))
    }

    private func numericRoundTrip(_ text: String) throws(FieldError) -> String {
        var binary = BinaryBuffer()
        try NumericBinary.append(Array(text.utf8)[...], to: &binary)
        var out: [UInt8] = []
        XCTAssertNoThrow(try NumericText.append(binary.bytes, 0, binary.bytes.count, to: &out))
        return String(decoding: out, as: UTF8.self)
    }

    /// Decimal text written as binary numeric by the destination reads back as the same text in
    /// the source: leading and trailing zero groups dropped, the scale kept.
    func testDecimalsRoundTripThroughBinaryNumeric() throws {
        for text in ["0", "1", "-1", "0.01", "-0.5", "0.0001", "0.00001", "9999", "10000", "100000000", "12345.6789",
                     "1.50000", "-98765432109876543210.0123456789", "0.000", "NaN", "Infinity", "-Infinity"] {
            XCTAssertEqual(try numericRoundTrip(text), text)
        }
        XCTAssertEqual(try numericRoundTrip("+007.10"), "7.10")
    }

    /// A binary numeric whose digit group is over 9999 is not one PostgreSQL writes: refused.
    func testNumericDigitGroupOver9999IsAFormatError() {
        let bytes: [UInt8] = [0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10] // one group, 10000
        var out: [UInt8] = []
        XCTAssertThrowsError(try NumericText.append(bytes, 0, bytes.count, to: &out))
    }

    /// Decimals at PostgreSQL's limits travel exactly; past them they are refused. Before, 131072
    /// nines trapped (ndigits over Int16) and a 1 followed by 131072 zeros wrapped its weight
    /// into a tiny number, silently.
    func testDecimalsAtAndPastPostgresLimits() throws {
        let nines = String(repeating: "9", count: 131_072)
        XCTAssertEqual(try numericRoundTrip(nines), nines)
        let scale = "0." + String(repeating: "0", count: 16_382) + "1"
        XCTAssertEqual(try numericRoundTrip(scale), scale)
        XCTAssertEqual(try numericRoundTrip("-000.000"), "0.000")
        XCTAssertThrowsError(try numericRoundTrip("1" + String(repeating: "0", count: 131_072)))
        XCTAssertThrowsError(try numericRoundTrip(scale + "0"))
    }
}
