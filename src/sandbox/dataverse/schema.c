/* The tables the sandbox's Dataverse knows: columns, types, lengths, lookups and navigation names
 * (reference/dataverse.md). */
#include "internal.h"

#define SYS                                                                                        \
    {"createdon", DT_DATETIME, 0, NULL, NULL, DVC_READONLY},                                       \
        {"modifiedon", DT_DATETIME, 0, NULL, NULL, DVC_READONLY},                                  \
        {"versionnumber", DT_INT, 0, NULL, NULL, DVC_READONLY},                                    \
        {"createdby", DT_LOOKUP, 0, "systemuser", "createdby", DVC_READONLY},                      \
    {                                                                                              \
        "modifiedby", DT_LOOKUP, 0, "systemuser", "modifiedby", DVC_READONLY                       \
    }
#define OWNED                                                                                      \
    SYS, {"ownerid", DT_LOOKUP, 0, "systemuser", "ownerid", 0},                                    \
        {"statecode", DT_STATE, 0, NULL, NULL, 0},                                                 \
    {                                                                                              \
        "statuscode", DT_STATUS, 0, NULL, NULL, 0                                                  \
    }
#define SYNCED                                                                                     \
    {"mlc_netsuitelastmodified", DT_DATETIME, 0, NULL, NULL, DVC_CUSTOM},                          \
        {"mlc_syncstatehash", DT_STR, 100, NULL, NULL, DVC_CUSTOM},                                \
        {"mlc_lastsyncedon", DT_DATETIME, 0, NULL, NULL, DVC_CUSTOM},                              \
    {                                                                                              \
        "mlc_syncexceptions", DT_MEMO, 4000, NULL, NULL, DVC_CUSTOM                                \
    }

static const struct dv_col account[] = {
    {"accountid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 160, NULL, NULL, DVC_REQUIRED},
    {"accountnumber", DT_STR, 20, NULL, NULL, 0},
    {"address1_line1", DT_STR, 250, NULL, NULL, 0},
    {"address1_line2", DT_STR, 250, NULL, NULL, 0},
    {"address1_line3", DT_STR, 250, NULL, NULL, 0},
    {"address1_city", DT_STR, 80, NULL, NULL, 0},
    {"address1_stateorprovince", DT_STR, 50, NULL, NULL, 0},
    {"address1_postalcode", DT_STR, 20, NULL, NULL, 0},
    {"address1_country", DT_STR, 80, NULL, NULL, 0},
    {"telephone1", DT_STR, 50, NULL, NULL, 0},
    {"emailaddress1", DT_STR, 100, NULL, NULL, 0},
    {"websiteurl", DT_STR, 200, NULL, NULL, 0},
    {"creditlimit", DT_MONEY, 0, NULL, NULL, 0},
    {"creditonhold", DT_BOOL, 0, NULL, NULL, 0},
    {"customertypecode", DT_CHOICE, 0, NULL, NULL, 0},
    {"description", DT_MEMO, 2000, NULL, NULL, 0},
    {"primarycontactid", DT_LOOKUP, 0, "contact", "primarycontactid", 0},
    {"parentaccountid", DT_LOOKUP, 0, "account", "parentaccountid", 0},
    {"defaultpricelevelid", DT_LOOKUP, 0, "pricelevel", "defaultpricelevelid", 0},
    {"transactioncurrencyid", DT_LOOKUP, 0, "transactioncurrency", "transactioncurrencyid", 0},
    {"masterid", DT_LOOKUP, 0, "account", "masterid", DVC_READONLY},
    {"merged", DT_BOOL, 0, NULL, NULL, DVC_READONLY},
    {"mlc_netsuitecustomerid", DT_STR, 100, NULL, NULL, DVC_CUSTOM},
    SYNCED,
    OWNED,
};
static const struct dv_col contact[] = {
    {"contactid", DT_GUID, 0, NULL, NULL, 0},
    {"firstname", DT_STR, 50, NULL, NULL, 0},
    {"lastname", DT_STR, 50, NULL, NULL, 0},
    {"fullname", DT_STR, 160, NULL, NULL, DVC_READONLY},
    {"emailaddress1", DT_STR, 100, NULL, NULL, 0},
    {"telephone1", DT_STR, 50, NULL, NULL, 0},
    {"mobilephone", DT_STR, 50, NULL, NULL, 0},
    {"jobtitle", DT_STR, 100, NULL, NULL, 0},
    {"address1_postalcode", DT_STR, 20, NULL, NULL, 0},
    {"address1_city", DT_STR, 80, NULL, NULL, 0},
    {"parentcustomerid", DT_LOOKUP, 0, "account", "parentcustomerid_account", 0},
    {"transactioncurrencyid", DT_LOOKUP, 0, "transactioncurrency", "transactioncurrencyid", 0},
    {"masterid", DT_LOOKUP, 0, "contact", "masterid", DVC_READONLY},
    {"merged", DT_BOOL, 0, NULL, NULL, DVC_READONLY},
    {"mlc_netsuitecontactid", DT_STR, 100, NULL, NULL, DVC_CUSTOM},
    SYNCED,
    OWNED,
};
static const struct dv_col salesorder[] = {
    {"salesorderid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 300, NULL, NULL, DVC_REQUIRED},
    {"ordernumber", DT_STR, 100, NULL, NULL, DVC_CREATEONLY},
    {"description", DT_MEMO, 2000, NULL, NULL, 0},
    {"customerid", DT_LOOKUP, 0, "account", "customerid_account", DVC_REQUIRED},
    {"pricelevelid", DT_LOOKUP, 0, "pricelevel", "pricelevelid", DVC_REQUIRED},
    {"transactioncurrencyid", DT_LOOKUP, 0, "transactioncurrency", "transactioncurrencyid",
     DVC_REQUIRED | DVC_CREATEONLY},
    {"totalamount", DT_MONEY, 0, NULL, NULL, DVC_READONLY},
    {"totallineitemamount", DT_MONEY, 0, NULL, NULL, DVC_READONLY},
    {"datefulfilled", DT_DATETIME, 0, NULL, NULL, 0},
    {"requestdeliveryby", DT_DATE, 0, NULL, NULL, DVC_DATEONLY},
    {"ispricelocked", DT_BOOL, 0, NULL, NULL, 0},
    {"shipto_postalcode", DT_STR, 20, NULL, NULL, 0},
    {"mlc_netsuitesalesorderid", DT_STR, 100, NULL, NULL, DVC_CUSTOM},
    {"mlc_netsuitestatus", DT_STR, 100, NULL, NULL, DVC_CUSTOM},
    {"mlc_netsuitetotal", DT_MONEY, 0, NULL, NULL, DVC_CUSTOM},
    SYNCED,
    OWNED,
};
static const struct dv_col salesorderdetail[] = {
    {"salesorderdetailid", DT_GUID, 0, NULL, NULL, 0},
    {"salesorderid", DT_LOOKUP, 0, "salesorder", "salesorderid", DVC_REQUIRED},
    {"productid", DT_LOOKUP, 0, "product", "productid", 0},
    {"uomid", DT_LOOKUP, 0, "uom", "uomid", 0},
    {"quantity", DT_DEC, 0, NULL, NULL, DVC_REQUIRED},
    {"priceperunit", DT_MONEY, 0, NULL, NULL, 0},
    {"baseamount", DT_MONEY, 0, NULL, NULL, DVC_READONLY},
    {"extendedamount", DT_MONEY, 0, NULL, NULL, DVC_READONLY},
    {"ispriceoverridden", DT_BOOL, 0, NULL, NULL, 0},
    {"isproductoverridden", DT_BOOL, 0, NULL, NULL, DVC_CREATEONLY},
    {"productdescription", DT_STR, 500, NULL, NULL, DVC_CREATEONLY},
    {"description", DT_MEMO, 2000, NULL, NULL, 0},
    {"lineitemnumber", DT_INT, 0, NULL, NULL, 0},
    {"mlc_netsuitelinekey", DT_STR, 100, NULL, NULL, DVC_CUSTOM},
    SYNCED,
    SYS,
};
static const struct dv_col product[] = {
    {"productid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 100, NULL, NULL, DVC_REQUIRED},
    {"productnumber", DT_STR, 100, NULL, NULL, DVC_REQUIRED},
    {"description", DT_MEMO, 2000, NULL, NULL, 0},
    {"defaultuomid", DT_LOOKUP, 0, "uom", "defaultuomid", 0},
    {"defaultuomscheduleid", DT_LOOKUP, 0, "uomschedule", "defaultuomscheduleid", 0},
    {"pricelevelid", DT_LOOKUP, 0, "pricelevel", "pricelevelid", 0},
    {"mlc_netsuiteitemid", DT_STR, 100, NULL, NULL, DVC_CUSTOM},
    OWNED,
};
static const struct dv_col pricelevel[] = {
    {"pricelevelid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 100, NULL, NULL, DVC_REQUIRED},
    {"transactioncurrencyid", DT_LOOKUP, 0, "transactioncurrency", "transactioncurrencyid", 0},
    SYS,
    {"statecode", DT_STATE, 0, NULL, NULL, 0},
    {"statuscode", DT_STATUS, 0, NULL, NULL, 0},
};
static const struct dv_col productpricelevel[] = {
    {"productpricelevelid", DT_GUID, 0, NULL, NULL, 0},
    {"pricelevelid", DT_LOOKUP, 0, "pricelevel", "pricelevelid", DVC_REQUIRED},
    {"productid", DT_LOOKUP, 0, "product", "productid", DVC_REQUIRED},
    {"uomid", DT_LOOKUP, 0, "uom", "uomid", DVC_REQUIRED},
    {"amount", DT_MONEY, 0, NULL, NULL, 0},
    {"transactioncurrencyid", DT_LOOKUP, 0, "transactioncurrency", "transactioncurrencyid", 0},
    SYS,
};
static const struct dv_col uom[] = {
    {"uomid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 100, NULL, NULL, DVC_REQUIRED},
    {"quantity", DT_DEC, 0, NULL, NULL, 0},
    {"uomscheduleid", DT_LOOKUP, 0, "uomschedule", "uomscheduleid", 0},
    {"isschedulebaseuom", DT_BOOL, 0, NULL, NULL, 0},
    SYS,
};
static const struct dv_col uomschedule[] = {
    {"uomscheduleid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 200, NULL, NULL, DVC_REQUIRED},
    {"baseuomname", DT_STR, 100, NULL, NULL, 0},
    SYS,
};
static const struct dv_col transactioncurrency[] = {
    {"transactioncurrencyid", DT_GUID, 0, NULL, NULL, 0},
    {"currencyname", DT_STR, 100, NULL, NULL, DVC_REQUIRED},
    {"isocurrencycode", DT_STR, 5, NULL, NULL, DVC_REQUIRED},
    {"currencysymbol", DT_STR, 13, NULL, NULL, 0},
    {"exchangerate", DT_DEC, 0, NULL, NULL, 0},
    {"currencyprecision", DT_INT, 0, NULL, NULL, 0},
    SYS,
    {"statecode", DT_STATE, 0, NULL, NULL, 0},
    {"statuscode", DT_STATUS, 0, NULL, NULL, 0},
};
static const struct dv_col systemuser[] = {
    {"systemuserid", DT_GUID, 0, NULL, NULL, 0},
    {"fullname", DT_STR, 200, NULL, NULL, 0},
    {"firstname", DT_STR, 64, NULL, NULL, 0},
    {"lastname", DT_STR, 64, NULL, NULL, 0},
    {"internalemailaddress", DT_STR, 100, NULL, NULL, 0},
    {"domainname", DT_STR, 1024, NULL, NULL, 0},
    {"applicationid", DT_GUID, 0, NULL, NULL, 0},
    {"isdisabled", DT_BOOL, 0, NULL, NULL, 0},
    {"accessmode", DT_CHOICE, 0, NULL, NULL, 0},
    {"businessunitid", DT_LOOKUP, 0, "businessunit", "businessunitid", 0},
    SYS,
};
static const struct dv_col team[] = {
    {"teamid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 160, NULL, NULL, DVC_REQUIRED},
    {"teamtype", DT_CHOICE, 0, NULL, NULL, 0},
    {"businessunitid", DT_LOOKUP, 0, "businessunit", "businessunitid", 0},
    {"administratorid", DT_LOOKUP, 0, "systemuser", "administratorid", 0},
    SYS,
};
static const struct dv_col businessunit[] = {
    {"businessunitid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 160, NULL, NULL, DVC_REQUIRED},
    SYS,
};
static const struct dv_col sdkmessage[] = {
    {"sdkmessageid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 256, NULL, NULL, DVC_READONLY},
};
static const struct dv_col sdkmessagefilter[] = {
    {"sdkmessagefilterid", DT_GUID, 0, NULL, NULL, 0},
    {"sdkmessageid", DT_LOOKUP, 0, "sdkmessage", "sdkmessageid", DVC_READONLY},
    {"primaryobjecttypecode", DT_STR, 100, NULL, NULL, DVC_READONLY},
    {"secondaryobjecttypecode", DT_STR, 100, NULL, NULL, DVC_READONLY},
    {"iscustomprocessingstepallowed", DT_BOOL, 0, NULL, NULL, DVC_READONLY},
};
static const struct dv_col serviceendpoint[] = {
    {"serviceendpointid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 256, NULL, NULL, DVC_REQUIRED},
    {"contract", DT_CHOICE, 0, NULL, NULL, DVC_REQUIRED},
    {"url", DT_STR, 2000, NULL, NULL, 0},
    {"authtype", DT_CHOICE, 0, NULL, NULL, 0},
    {"authvalue", DT_MEMO, 4000, NULL, NULL, 0},
    {"messageformat", DT_CHOICE, 0, NULL, NULL, 0},
    {"description", DT_MEMO, 2000, NULL, NULL, 0},
    SYS,
};
static const struct dv_col step[] = {
    {"sdkmessageprocessingstepid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 256, NULL, NULL, DVC_REQUIRED},
    {"mode", DT_CHOICE, 0, NULL, NULL, 0},
    {"stage", DT_CHOICE, 0, NULL, NULL, 0},
    {"rank", DT_INT, 0, NULL, NULL, 0},
    {"supporteddeployment", DT_CHOICE, 0, NULL, NULL, 0},
    {"asyncautodelete", DT_BOOL, 0, NULL, NULL, 0},
    {"filteringattributes", DT_MEMO, 100000, NULL, NULL, 0},
    {"description", DT_MEMO, 256, NULL, NULL, 0},
    {"sdkmessageid", DT_LOOKUP, 0, "sdkmessage", "sdkmessageid", DVC_REQUIRED},
    {"sdkmessagefilterid", DT_LOOKUP, 0, "sdkmessagefilter", "sdkmessagefilterid", 0},
    {"eventhandler", DT_LOOKUP, 0, "serviceendpoint", "eventhandler_serviceendpoint", DVC_REQUIRED},
    SYS,
    {"statecode", DT_STATE, 0, NULL, NULL, 0},
    {"statuscode", DT_STATUS, 0, NULL, NULL, 0},
};

static const struct dv_col stepimage[] = {
    {"sdkmessageprocessingstepimageid", DT_GUID, 0, NULL, NULL, 0},
    {"name", DT_STR, 256, NULL, NULL, DVC_REQUIRED},
    {"entityalias", DT_STR, 256, NULL, NULL, DVC_REQUIRED},
    {"imagetype", DT_CHOICE, 0, NULL, NULL, DVC_REQUIRED},
    {"messagepropertyname", DT_STR, 256, NULL, NULL, 0},
    {"attributes", DT_MEMO, 100000, NULL, NULL, 0},
    {"sdkmessageprocessingstepid", DT_LOOKUP, 0, "sdkmessageprocessingstep",
     "sdkmessageprocessingstepid", DVC_REQUIRED},
    SYS,
};

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
