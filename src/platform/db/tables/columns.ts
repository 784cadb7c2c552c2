// Column types shared by the tables: timestamps and JSON.
import type { ColumnType } from 'kysely'

export type CreatedAt = ColumnType<Date, Date | undefined, never>

export type UpdatedAt = ColumnType<Date, Date | undefined, Date>

export type JsonColumn<T = JsonObject> = ColumnType<T, string | undefined, string>

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export type JsonObject = { [key: string]: JsonValue }
