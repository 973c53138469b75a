/* The tables the sandbox's Dataverse knows: columns, types, lengths, lookups and navigation names
 * (reference/dataverse.md). */
#include "internal.h"

/* clang-format off */
/* Column shorthands: C(name, type, flags), S(tring)/M(emo)(name, max length, flags),
 * L(ookup)(name, target table, navigation property, flags). */
#define C(n, t, f) {n, t, 0, NULL, NULL, f}
#define S(n, len, f) {n, DT_STR, len, NULL, NULL, f}
#define M(n, len, f) {n, DT_MEMO, len, NULL, NULL, f}
#define L(n, target, nav, f) {n, DT_LOOKUP, 0, target, nav, f}
#define ID(n) C(n, DT_GUID, 0)
#define RO DVC_READONLY
#define REQ DVC_REQUIRED
#define OURS DVC_CUSTOM

#define SYS                                                                                        \
    C("createdon", DT_DATETIME, RO), C("modifiedon", DT_DATETIME, RO),                             \
    C("versionnumber", DT_INT, RO), L("createdby", "systemuser", "createdby", RO),                 \
    L("modifiedby", "systemuser", "modifiedby", RO)
#define STATE C("statecode", DT_STATE, 0), C("statuscode", DT_STATUS, 0)
#define OWNED SYS, L("ownerid", "systemuser", "ownerid", 0), STATE
/* our sync columns, on every table the connector writes */
#define SYNCED                                                                                     \
    C("mlc_netsuitelastmodified", DT_DATETIME, OURS), S("mlc_syncstatehash", 100, OURS),           \
    C("mlc_lastsyncedon", DT_DATETIME, OURS), M("mlc_syncexceptions", 4000, OURS)
#define CURRENCY(f) L("transactioncurrencyid", "transactioncurrency", "transactioncurrencyid", f)
/* a merge deactivates the loser and points it at the survivor */
#define MERGEABLE(self) L("masterid", self, "masterid", RO), C("merged", DT_BOOL, RO)
#define NAME(len) S("name", len, REQ)

static const struct dv_col account[] = {
    ID("accountid"), NAME(160), S("accountnumber", 20, 0),
    S("address1_line1", 250, 0), S("address1_line2", 250, 0), S("address1_line3", 250, 0),
    S("address1_city", 80, 0), S("address1_stateorprovince", 50, 0),
    S("address1_postalcode", 20, 0), S("address1_country", 80, 0),
    S("telephone1", 50, 0), S("emailaddress1", 100, 0), S("websiteurl", 200, 0),
    C("creditlimit", DT_MONEY, 0), C("creditonhold", DT_BOOL, 0),
    C("customertypecode", DT_CHOICE, 0), M("description", 2000, 0),
    L("primarycontactid", "contact", "primarycontactid", 0),
    L("parentaccountid", "account", "parentaccountid", 0),
    L("defaultpricelevelid", "pricelevel", "defaultpricelevelid", 0), CURRENCY(0),
    MERGEABLE("account"), S("mlc_netsuitecustomerid", 100, OURS), SYNCED, OWNED,
};
static const struct dv_col contact[] = {
    ID("contactid"), S("firstname", 50, 0), S("lastname", 50, 0), S("fullname", 160, RO),
    S("emailaddress1", 100, 0), S("telephone1", 50, 0), S("mobilephone", 50, 0),
    S("jobtitle", 100, 0), S("address1_postalcode", 20, 0), S("address1_city", 80, 0),
    L("parentcustomerid", "account", "parentcustomerid_account", 0), CURRENCY(0),
    MERGEABLE("contact"), S("mlc_netsuitecontactid", 100, OURS), SYNCED, OWNED,
};
static const struct dv_col salesorder[] = {
    ID("salesorderid"), NAME(300), S("ordernumber", 100, DVC_CREATEONLY),
    M("description", 2000, 0), L("customerid", "account", "customerid_account", REQ),
    L("pricelevelid", "pricelevel", "pricelevelid", REQ), CURRENCY(REQ | DVC_CREATEONLY),
    C("totalamount", DT_MONEY, RO), C("totallineitemamount", DT_MONEY, RO),
    C("datefulfilled", DT_DATETIME, 0), C("requestdeliveryby", DT_DATE, DVC_DATEONLY),
    C("ispricelocked", DT_BOOL, 0), S("shipto_postalcode", 20, 0),
    S("mlc_netsuitesalesorderid", 100, OURS), S("mlc_netsuitestatus", 100, OURS),
    C("mlc_netsuitetotal", DT_MONEY, OURS), SYNCED, OWNED,
};
static const struct dv_col salesorderdetail[] = {
    ID("salesorderdetailid"), L("salesorderid", "salesorder", "salesorderid", REQ),
    L("productid", "product", "productid", 0), L("uomid", "uom", "uomid", 0),
    C("quantity", DT_DEC, REQ), C("priceperunit", DT_MONEY, 0),
    C("baseamount", DT_MONEY, RO), C("extendedamount", DT_MONEY, RO),
    C("ispriceoverridden", DT_BOOL, 0), C("isproductoverridden", DT_BOOL, DVC_CREATEONLY),
    S("productdescription", 500, DVC_CREATEONLY), M("description", 2000, 0),
    C("lineitemnumber", DT_INT, 0), S("mlc_netsuitelinekey", 100, OURS), SYNCED, SYS,
};
static const struct dv_col product[] = {
    ID("productid"), NAME(100), S("productnumber", 100, REQ), M("description", 2000, 0),
    L("defaultuomid", "uom", "defaultuomid", 0),
    L("defaultuomscheduleid", "uomschedule", "defaultuomscheduleid", 0),
    L("pricelevelid", "pricelevel", "pricelevelid", 0), S("mlc_netsuiteitemid", 100, OURS),
    OWNED,
};
static const struct dv_col pricelevel[] = {
    ID("pricelevelid"), NAME(100), CURRENCY(0), SYS, STATE,
};
static const struct dv_col productpricelevel[] = {
    ID("productpricelevelid"), L("pricelevelid", "pricelevel", "pricelevelid", REQ),
    L("productid", "product", "productid", REQ), L("uomid", "uom", "uomid", REQ),
    C("amount", DT_MONEY, 0), CURRENCY(0), SYS,
};
static const struct dv_col uom[] = {
    ID("uomid"), NAME(100), C("quantity", DT_DEC, 0),
    L("uomscheduleid", "uomschedule", "uomscheduleid", 0), C("isschedulebaseuom", DT_BOOL, 0),
    SYS,
};
static const struct dv_col uomschedule[] = {
    ID("uomscheduleid"), NAME(200), S("baseuomname", 100, 0), SYS,
};
static const struct dv_col transactioncurrency[] = {
    ID("transactioncurrencyid"), S("currencyname", 100, REQ), S("isocurrencycode", 5, REQ),
    S("currencysymbol", 13, 0), C("exchangerate", DT_DEC, 0), C("currencyprecision", DT_INT, 0),
    SYS, STATE,
};
static const struct dv_col systemuser[] = {
    ID("systemuserid"), S("fullname", 200, 0), S("firstname", 64, 0), S("lastname", 64, 0),
    S("internalemailaddress", 100, 0), S("domainname", 1024, 0), C("applicationid", DT_GUID, 0),
    C("isdisabled", DT_BOOL, 0), C("accessmode", DT_CHOICE, 0),
    L("businessunitid", "businessunit", "businessunitid", 0), SYS,
};
static const struct dv_col team[] = {
    ID("teamid"), NAME(160), C("teamtype", DT_CHOICE, 0),
    L("businessunitid", "businessunit", "businessunitid", 0),
    L("administratorid", "systemuser", "administratorid", 0), SYS,
};
static const struct dv_col businessunit[] = {
    ID("businessunitid"), NAME(160), SYS,
};
static const struct dv_col sdkmessage[] = {
    ID("sdkmessageid"), S("name", 256, RO),
};
static const struct dv_col sdkmessagefilter[] = {
    ID("sdkmessagefilterid"), L("sdkmessageid", "sdkmessage", "sdkmessageid", RO),
    S("primaryobjecttypecode", 100, RO), S("secondaryobjecttypecode", 100, RO),
    C("iscustomprocessingstepallowed", DT_BOOL, RO),
};
static const struct dv_col serviceendpoint[] = {
    ID("serviceendpointid"), NAME(256), C("contract", DT_CHOICE, REQ), S("url", 2000, 0),
    C("authtype", DT_CHOICE, 0), M("authvalue", 4000, 0), C("messageformat", DT_CHOICE, 0),
    M("description", 2000, 0), SYS,
};
static const struct dv_col step[] = {
    ID("sdkmessageprocessingstepid"), NAME(256), C("mode", DT_CHOICE, 0),
    C("stage", DT_CHOICE, 0), C("rank", DT_INT, 0), C("supporteddeployment", DT_CHOICE, 0),
    C("asyncautodelete", DT_BOOL, 0), M("filteringattributes", 100000, 0),
    M("description", 256, 0), L("sdkmessageid", "sdkmessage", "sdkmessageid", REQ),
    L("sdkmessagefilterid", "sdkmessagefilter", "sdkmessagefilterid", 0),
    L("eventhandler", "serviceendpoint", "eventhandler_serviceendpoint", REQ), SYS, STATE,
};
static const struct dv_col stepimage[] = {
    ID("sdkmessageprocessingstepimageid"), NAME(256), S("entityalias", 256, REQ),
    C("imagetype", DT_CHOICE, REQ), S("messagepropertyname", 256, 0), M("attributes", 100000, 0),
    L("sdkmessageprocessingstepid", "sdkmessageprocessingstep", "sdkmessageprocessingstepid",
      REQ),
    SYS,
};
/* clang-format on */

#define T(l, s, id, pn, otc, cols, key, st)                                                        \
    {                                                                                              \
        l, s, id, pn, otc, cols, sizeof cols / sizeof cols[0], key, st                             \
    }
static const struct dv_table tables[] = {
    T("account", "accounts", "accountid", "name", 1, account, "mlc_netsuitecustomerid", true),
    T("contact", "contacts", "contactid", "fullname", 2, contact, "mlc_netsuitecontactid", true),
    T("salesorder", "salesorders", "salesorderid", "name", 1088, salesorder,
      "mlc_netsuitesalesorderid", true),
    T("salesorderdetail", "salesorderdetails", "salesorderdetailid", "productdescription", 1089,
      salesorderdetail, "mlc_netsuitelinekey", false),
    T("product", "products", "productid", "name", 1024, product, "mlc_netsuiteitemid", true),
    T("pricelevel", "pricelevels", "pricelevelid", "name", 1022, pricelevel, NULL, true),
    T("productpricelevel", "productpricelevels", "productpricelevelid", "pricelevelid", 1026,
      productpricelevel, NULL, false),
    T("uom", "uoms", "uomid", "name", 1055, uom, NULL, false),
    T("uomschedule", "uomschedules", "uomscheduleid", "name", 1056, uomschedule, NULL, false),
    T("transactioncurrency", "transactioncurrencies", "transactioncurrencyid", "currencyname", 9105,
      transactioncurrency, NULL, true),
    T("systemuser", "systemusers", "systemuserid", "fullname", 8, systemuser, NULL, false),
    T("team", "teams", "teamid", "name", 9, team, NULL, false),
    T("businessunit", "businessunits", "businessunitid", "name", 10, businessunit, NULL, false),
    T("sdkmessage", "sdkmessages", "sdkmessageid", "name", 4606, sdkmessage, NULL, false),
    T("sdkmessagefilter", "sdkmessagefilters", "sdkmessagefilterid", "primaryobjecttypecode", 4607,
      sdkmessagefilter, NULL, false),
    T("serviceendpoint", "serviceendpoints", "serviceendpointid", "name", 4618, serviceendpoint,
      NULL, false),
    T("sdkmessageprocessingstep", "sdkmessageprocessingsteps", "sdkmessageprocessingstepid", "name",
      4608, step, NULL, true),
    T("sdkmessageprocessingstepimage", "sdkmessageprocessingstepimages",
      "sdkmessageprocessingstepimageid", "name", 4615, stepimage, NULL, false),
};

size_t dv_schema_tables(const struct dv_table **out)
{
    *out = tables;
    return sizeof tables / sizeof tables[0];
}
