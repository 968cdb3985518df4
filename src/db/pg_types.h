#pragma once
// OIDs of the built-in PostgreSQL types storygate treats specially
// (src/include/catalog/pg_type.dat; fixed across versions).
namespace storygate::db::oid {

inline constexpr unsigned boolean = 16;
inline constexpr unsigned int8 = 20;
inline constexpr unsigned int2 = 21;
inline constexpr unsigned int4 = 23;
inline constexpr unsigned text = 25;
inline constexpr unsigned json = 114;
inline constexpr unsigned float4 = 700;
inline constexpr unsigned float8 = 701;
inline constexpr unsigned money = 790;
inline constexpr unsigned bpchar = 1042;
inline constexpr unsigned varchar = 1043;
inline constexpr unsigned date = 1082;
inline constexpr unsigned timestamp = 1114;
inline constexpr unsigned timestamptz = 1184;
inline constexpr unsigned numeric = 1700;
inline constexpr unsigned uuid = 2950;
inline constexpr unsigned jsonb = 3802;

}  // namespace storygate::db::oid
