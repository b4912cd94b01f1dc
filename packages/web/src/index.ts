export * from "./Assets.ts"
export * from "./Html.ts"
export * from "./SecurityHeaders.ts"
