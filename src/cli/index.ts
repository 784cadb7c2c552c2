import { main } from './main.js'

// Development entry (`npm run dev`, tests): the same CLI run from the TypeScript sources.
await main(process.argv)
