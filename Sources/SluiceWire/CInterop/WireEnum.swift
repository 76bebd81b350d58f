/// A protocol enum that maps to a protobuf-c enum by its wire number. Unknown numbers from a
/// newer peer read as `unspecified` (proto3 enums are open).
protocol WireEnum: RawRepresentable where RawValue == Int32 {
    static var unspecified: Self { get }
}

extension WireEnum {
    /// The protobuf-c enum value with the same number.
    func c<C: RawRepresentable>() -> C where C.RawValue: FixedWidthInteger {
        C(rawValue: C.RawValue(truncatingIfNeeded: rawValue))!
    }

    /// The value with the same number as `value`, or `unspecified` when unknown.
    init<C: RawRepresentable>(c value: C) where C.RawValue: BinaryInteger {
        self = Self(rawValue: Int32(truncatingIfNeeded: value.rawValue)) ?? .unspecified
    }
}

extension LogLevel: WireEnum {}
extension Role: WireEnum {}
extension SyncMode: WireEnum {}
extension WriteMode: WireEnum {}
extension StreamStatusKind: WireEnum {}
extension ErrorCategory: WireEnum {}
