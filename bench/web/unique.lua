-- unique.lua - wrk script: every request gets its own query string, so
-- the web server's answer cache never hits and each answer is computed.
local n = 0
request = function()
  n = n + 1
  local sep = string.find(wrk.path, "?", 1, true) and "&" or "?"
  return wrk.format(nil, wrk.path .. sep .. "bench_nocache=" .. n)
end
