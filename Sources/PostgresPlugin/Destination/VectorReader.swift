import SluiceWire

/// One column's vectors behind a single reference, so the per-field encoding loop passes a
/// pointer-sized handle instead of copying a ``ColumnVector`` (ten arrays) for every value.
final class VectorReader {
    let validity: [UInt8]
    let bools: [Bool]
    let int32s: [Int32]
    let int64s: [Int64]
    let float32s: [Float]
    let float64s: [Double]
    let data: [UInt8]
    let offsets: [UInt32]
    let intervalDays: [Int32]
    let child: VectorReader?

    init(_ vector: ColumnVector) {
        validity = vector.validity
        bools = vector.bools
        int32s = vector.int32s
        int64s = vector.int64s
        float32s = vector.float32s
        float64s = vector.float64s
        data = vector.data
        offsets = vector.offsets
        intervalDays = vector.intervalDays
        child = vector.child.map(VectorReader.init)
    }

    /// Whether row `index` holds a value.
    @inline(__always)
    func isValid(_ index: Int) -> Bool {
        ColumnVector.isValid(index, in: validity)
    }
}
