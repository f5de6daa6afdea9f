const {Redis}=require("ioredis");const r=new Redis();
(async()=>{const log=await r.call("SLOWLOG","GET","-1");const agg={};
for(const [id,ts,us,args] of log){ if(!args.some(a=>String(a).includes(process.argv[2])))continue; let k=args[0];if(/evalsha|eval/i.test(k)){k=k+" nk="+args[2]+" nargs="+(args.length-3-Number(args[2]))} else k=k+" "+String(args[1]||"").replace(/[0-9a-f]{8}-[0-9a-f-]{27}.*/,"ID").replace(/afmicro-lua-\d+/,'P').slice(0,50);
agg[k]??={n:0,us:0};agg[k].n++;agg[k].us+=us;}
const rows=Object.entries(agg).sort((a,b)=>b[1].us-a[1].us).slice(0,12);for(const [k,v] of rows)console.log(v.n,v.us,(v.us/v.n).toFixed(1),k);await r.slowlog("RESET");r.quit()})()
